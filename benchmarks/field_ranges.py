"""Write docs/field-ranges.md from archsearch/ranges.py (tests/test_ranges.py fails when the page is stale).

    python benchmarks/field_ranges.py [PATH]
"""

import sys

from archsearch.ranges import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
