"""Figures for the study and benchmark pages: matplotlib without a display and without log noise."""
import logging


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (files only, no display), matplotlib's logging at WARNING.

    Importing fairseq sets the root logger to DEBUG (fairseq/models/wav2vec/wav2vec2_classification.py
    calls ``logging.basicConfig(level=logging.DEBUG)``), after which matplotlib logs every font it scores.
    """
    logging.getLogger("matplotlib").setLevel(logging.WARNING)  # before the import, which logs too
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
