import sys

from ecglens.cli import main

sys.exit(main())
