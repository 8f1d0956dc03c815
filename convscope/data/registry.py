"""What convscope knows about each named dataset: files, mirrors, classes, sample shape."""

from __future__ import annotations

from dataclasses import dataclass, field

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
DIGIT_CLASSES = tuple(str(digit) for digit in range(10))
# CIFAR-100's fine labels, in the order of its `meta` file (alphabetical).
CIFAR100_CLASSES = tuple("""
    apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly
    camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile
    cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp
    lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree
    orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine possum
    rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider
    squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor train
    trout tulip turtle wardrobe whale willow_tree wolf woman worm
""".split())


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset.

    Attributes:
        name: the name given to `load` (``"fashion_mnist"``).
        kind: how it is read: ``"idx"``, ``"cifar10"``, ``"cifar100"``, ``"digits"`` or ``"mnist1d"``.
        class_names: one name per integer label.
        sample_shape: the shape of one sample with the channel axis, e.g. (28, 28, 1).
        files: for file-based datasets, role (``"x_train"``...) -> raw file name.
        mirrors: base URLs tried in order when downloading.
        system_dirs: folders where operating-system packages install the files.
        citation: where the data comes from.
    """

    name: str
    kind: str
    class_names: tuple[str, ...]
    sample_shape: tuple[int, ...]
    files: dict[str, str] = field(default_factory=dict)
    mirrors: tuple[str, ...] = ()
    system_dirs: tuple[str, ...] = ()
    citation: str = ""

    @property
    def folder_names(self) -> tuple[str, ...]:
        """Folder names accepted under CONVSCOPE_DATA_DIR and the cache (``fashion_mnist``, ``fashion-mnist``)."""
        dashed = self.name.replace("_", "-")
        return (self.name,) if dashed == self.name else (self.name, dashed)


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist", "idx", DIGIT_CLASSES, (28, 28, 1), IDX_FILES,
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        system_dirs=("/usr/share/datasets/mnist",),
        citation="LeCun, Cortes and Burges, the MNIST database of handwritten digits",
    ),
    "fashion_mnist": DatasetSpec(
        "fashion_mnist", "idx", FASHION_MNIST_CLASSES, (28, 28, 1), IDX_FILES,
        mirrors=(
            "https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        ),
        # Debian and Ubuntu: `apt-get install dataset-fashion-mnist`.
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        citation="Xiao, Rasul and Vollgraf, Fashion-MNIST (2017)",
    ),
    "cifar10": DatasetSpec(
        "cifar10", "cifar10", CIFAR10_CLASSES, (32, 32, 3),
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        system_dirs=("/usr/share/datasets/cifar10", "/usr/share/datasets/cifar-10"),
        citation="Krizhevsky, Learning multiple layers of features from tiny images (2009)",
    ),
    "cifar100": DatasetSpec(
        "cifar100", "cifar100", CIFAR100_CLASSES, (32, 32, 3),
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        system_dirs=("/usr/share/datasets/cifar100", "/usr/share/datasets/cifar-100"),
        citation="Krizhevsky, Learning multiple layers of features from tiny images (2009)",
    ),
    "digits": DatasetSpec(
        "digits", "digits", DIGIT_CLASSES, (8, 8, 1),
        citation="UCI optical recognition of handwritten digits, as bundled with scikit-learn",
    ),
    "mnist1d": DatasetSpec(
        "mnist1d", "mnist1d", DIGIT_CLASSES, (40, 1),
        citation="Greydanus and Kobak, Scaling down deep learning with MNIST-1D (2020)",
    ),
}


def get_spec(name: str) -> DatasetSpec:
    """The spec of a named dataset; `ValueError` listing the known names otherwise."""
    key = name.lower().replace("-", "_")
    if key not in DATASETS:
        known = ", ".join(sorted(DATASETS))
        raise ValueError(
            f"Unknown dataset {name!r}; known datasets: {known}. For your own files use "
            "image_folder(path) (one subfolder per class) or arrays(path) (.npy/.npz/.csv)."
        )
    return DATASETS[key]
