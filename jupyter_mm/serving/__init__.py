"""Serving registered models: ``jupyter mm serve`` (see :mod:`.process`), the prediction
log (:mod:`.predlog`), hot swaps and traffic splits (:mod:`.deployment`)."""

#: seconds between registry checks for swaps (here, not in :mod:`.process`: the CLI's help
#: shows it without importing the server)
DEFAULT_POLL_SECONDS = 0.5
