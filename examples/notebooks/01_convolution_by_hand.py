"""Notebook 1: convolution and pooling worked out by hand with convscope.explain."""

CELLS = [
    ("markdown", r"""
# 1. Convolution and pooling by hand

Before training anything, it pays to see what a convolutional layer actually computes. This
notebook works through small examples with `convscope.explain`, which holds plain NumPy
versions of the operations inside a CNN. Every result is an ordinary array, so you can print it,
check it on paper, and compare it with what the PyTorch engine computes.

You will see:

1. one output pixel of a 3x3 filter, term by term;
2. a filter sliding over a small image, then ReLU and max pooling;
3. how big each output is (the `26 -> 13 -> 11 -> 5` arithmetic);
4. hand-made vertical and horizontal line filters on a real photograph;
5. why deep-learning "convolution" is really *correlation*, and when that matters.
"""),
    ("code", r"""
import numpy as np
from IPython.display import Image, display

from convscope import explain

np.set_printoptions(suppress=True, precision=3)
"""),
    ("markdown", r"""
## One output pixel

A filter looks at a pixel together with its neighbours. Put the 3x3 filter on top of the 3x3
neighbourhood, multiply the values that sit on top of each other, and add the nine products.
That sum is the new value of the centre pixel.
"""),
    ("code", r"""
neighbourhood = np.array([[0, 64, 128],
                          [48, 192, 144],
                          [142, 226, 168]])
weights = np.array([[-1, 0, -2],
                    [0.5, 4.5, -1.5],
                    [1.5, 2, -3]])

steps = explain.conv_steps_from_arrays(neighbourhood, weights, position=(0, 0))
print(steps.text())
"""),
    ("markdown", r"""
`conv_steps_from_arrays` keeps every term, so the sum can be checked in one line of NumPy as
well: multiply element-wise, then add everything up.
"""),
    ("code", r"""
print("element-wise product, summed:", (neighbourhood * weights).sum())
print("largest contribution:", max(steps.terms, key=lambda term: abs(term.product)))
"""),
    ("markdown", r"""
## Sliding the filter

On a larger input, the filter moves one pixel at a time (the *stride*) and produces one output
value at every position where it fits completely. A 3x3 input and a 2x2 filter leave room for
2x2 positions:
"""),
    ("code", r"""
f = np.array([[1, 2, 1],
              [2, 1, 1],
              [1, 1, 1]])
g = np.array([[1, 0.5],
              [0.5, 1]])
explain.conv2d(f, g)
"""),
    ("markdown", r"""
## Convolution, ReLU, pooling

A convolutional block usually chains three steps: the convolution, a ReLU that replaces
negative values by zero, and a pooling step that keeps only the largest value of each window.
Here is the whole chain on a 3x3 image with a diagonal 2x2 filter:
"""),
    ("code", r"""
image = np.array([[1, 0, 2],
                  [3, 1, 0],
                  [0, 0, 4]])
diagonal = np.eye(2)

feature_map = explain.conv2d(image, diagonal)
rectified = explain.relu(feature_map)
pooled = explain.max_pool2d(rectified, pool_size=2)
print("convolution:\n", feature_map)
print("after ReLU:\n", rectified)
print("after 2x2 max pooling:", pooled)
"""),
    ("markdown", r"""
Pooling works the same way on bigger maps: a 2x2 window with stride 2 turns every group of four
values into one, so a 4x4 map becomes 2x2. Max pooling keeps the strongest response of each
window; average pooling keeps its mean.
"""),
    ("code", r"""
activations = np.array([[1, 3, 2, 9],
                        [5, 6, 1, 7],
                        [4, 2, 8, 0],
                        [3, 1, 2, 6]])
print("max pooling:\n", explain.max_pool2d(activations, 2))
print("average pooling:\n", explain.avg_pool2d(activations, 2))
"""),
    ("markdown", r"""
## How big is the output?

Without padding, a filter of width F fits `W - F + 1` times across an input of width W. A 3x3
filter therefore trims one pixel from every border: 28x28 becomes 26x26. A 2x2 pool with stride
2 halves the size, rounding down. `explain.output_size` implements the general formula, with
stride and padding too:

`out = floor((n + 2*padding - kernel) / stride) + 1`
"""),
    ("code", r"""
size = 28
for layer, kernel, stride in [("Conv2D 3x3", 3, 1), ("MaxPooling2D 2x2", 2, 2),
                              ("Conv2D 3x3", 3, 1), ("MaxPooling2D 2x2", 2, 2)]:
    new_size = explain.output_size(size, kernel, stride)
    print(f"{layer:<17} {size:>2} -> {new_size}")
    size = new_size
print("Flatten with 64 filters:", size * size * 64, "values")
"""),
    ("markdown", r"""
Padding changes the picture: with `padding="same"` the input is bordered with zeros so that a
stride-1 convolution keeps the size. A stride of 2 roughly halves it. LeNet-5's first layer
(six 5x5 filters on a 32x32 image) gives 28x28 maps, six of them.
"""),
    ("code", r"""
print("same padding, stride 1:", explain.output_size(28, 3, padding="same"))
print("same padding, stride 2:", explain.output_size(28, 3, stride=2, padding="same"))
print("LeNet-5 first layer:  ", explain.output_size(32, 5), "x", explain.output_size(32, 5), "x 6")
"""),
    ("markdown", r"""
## Line filters on a real photograph

Some filters make particular shapes stand out. The filter below is negative on its left column
and positive on its right, so it responds strongly wherever the brightness changes from left to
right: vertical edges light up. Its transpose does the same for horizontal edges. A trained CNN
learns filters like these by itself; here we set them by hand.

The photograph of Grace Hopper ships with matplotlib, so nothing is downloaded.
"""),
    ("code", r"""
import tempfile
from pathlib import Path

import matplotlib.cbook
from PIL import Image as PILImage

from convscope.plots.explain import plot_edge_demo

figures = Path(tempfile.mkdtemp(prefix="convscope-01-"))
photo_file = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
with PILImage.open(photo_file) as photo:
    gray = np.asarray(photo.convert("L").resize((150, 128)), dtype=np.float64) / 255  # (128, 150)

print(explain.line_kernels()["vertical"])
demo = explain.edge_demo(gray)
print("filtered:", demo.filtered["vertical"].shape, "pooled:", demo.pooled["vertical"].shape)
print("mean response after ReLU:", {name: round(value, 3) for name, value in demo.response.items()})
display(Image(filename=str(plot_edge_demo(demo, figures / "edges.png"))))
"""),
    ("markdown", r"""
After ReLU only the positive responses survive, and 2x2 max pooling halves the map while keeping
the strongest edge in every window: the outline is still there at a quarter of the pixels.

## Convolution or correlation?

In mathematics, convolving with a kernel means flipping the kernel (rotating it by 180 degrees)
before sliding it. Deep-learning layers skip the flip: they compute *cross-correlation*. For a
kernel that looks the same after the rotation, such as `g` above, both give the same answer. For
the line filter they do not: the flip turns a left-to-right edge detector into a right-to-left
one, so the signs of the response swap.
"""),
    ("code", r"""
vertical = explain.line_kernels()["vertical"]
patch = gray[40:46, 60:66]
correlation = explain.conv2d(patch, vertical, mode="correlation")
convolution = explain.conv2d(patch, vertical, mode="convolution")
print("symmetric g, same result:", np.allclose(explain.conv2d(f, g, mode="convolution"), explain.conv2d(f, g)))
print("line filter, same result:", np.allclose(correlation, convolution))
print("line filter, convolution == -correlation:", np.allclose(convolution, -correlation))
"""),
    ("markdown", r"""
Because the network learns its filters, the flip makes no practical difference: a network
trained with correlation simply learns the flipped filter. What matters is knowing which one your
framework computes when you set weights by hand or move them between frameworks.

## The engine agrees

Finally, load the vertical line filter into a real `Conv2D` layer and run the photograph
through it. The layer's output matches the NumPy reference to float32 precision, which is how
convscope's own tests check the engine.
"""),
    ("code", r"""
from convscope import Sequential, layers

model = Sequential([layers.Conv2D(1, 3, use_bias=False, input_shape=(128, 150, 1))])
model.layers[0].set_weights([vertical.reshape(3, 3, 1, 1)])  # Keras layout: (rows, cols, in, out)
engine = model.predict(gray[np.newaxis, :, :, np.newaxis].astype("float32"))[0, :, :, 0]
reference = explain.conv2d(gray, vertical)
print("engine output:", engine.shape, "largest difference:", float(np.abs(engine - reference).max()))
"""),
]
