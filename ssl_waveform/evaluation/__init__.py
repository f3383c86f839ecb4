"""Classification metrics and plots shared by fine-tuning, prediction and the benchmark.

Pure numpy: accuracy, macro-F1, per-class precision/recall and the confusion matrix (``metrics``), plus the
confusion-matrix and training-curve figures written into run folders (``plots``, matplotlib imported on use).
"""

from ssl_waveform.evaluation.metrics import classification_metrics, confusion_matrix, mean_sd
from ssl_waveform.evaluation.plots import plot_confusion_matrix, plot_training_curves

__all__ = [
    "classification_metrics",
    "confusion_matrix",
    "mean_sd",
    "plot_confusion_matrix",
    "plot_training_curves",
]
