import gc
import sys

# A command-line run is short and builds many objects that live to its end (ibis's expression
# classes and graphs): collecting the youngest generation every 700 allocations walks them
# again and again for little (about 0.05 s of a 10M-line RFM run). Collections still happen.
gc.set_threshold(20_000, 20, 20)

from core.cli import main  # noqa: E402

status = main()
# The work is done and written: freezing what is left spares the interpreter's teardown from
# collecting it object by object (a fifth of a second after an RFM run; exit handlers, such as
# removing a temporary UTF-8 copy of the input, still run).
gc.freeze()
sys.exit(status)
