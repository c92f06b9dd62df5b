"""`python -m glossarian` is the same as the `glossarian` command."""
from glossarian.cli import main

main()
