import sys

from trackway.cli import main

sys.exit(main())
