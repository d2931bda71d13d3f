"""Figures for the study and benchmark pages: matplotlib without a display and without log noise."""
import logging


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (files only, no display), matplotlib's logging at WARNING.

    Importing fairseq sets the root logger to DEBUG (fairseq/models/wav2vec/wav2vec2_classification.py
    calls ``logging.basicConfig(level=logging.DEBUG)``), after which matplotlib logs every font it scores.
    """
    import matplotlib

    matplotlib.use("Agg")
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    import matplotlib.pyplot as plt

    return plt
