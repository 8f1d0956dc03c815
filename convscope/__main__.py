import sys

from convscope.cli import main

sys.exit(main())
