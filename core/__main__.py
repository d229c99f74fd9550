import gc
import sys

from core.cli import main

status = main()
# The work is done and written: freezing what is left spares the interpreter's teardown from
# collecting it object by object (a fifth of a second after an RFM run; exit handlers, such as
# removing a temporary UTF-8 copy of the input, still run).
gc.freeze()
sys.exit(status)
