"""Serving registered models: ``jupyter mm serve`` (see :mod:`.process`), the prediction
log (:mod:`.predlog`), hot swaps and traffic splits (:mod:`.deployment`)."""
