"""Fine-tuning an encoder on labeled fault classes (``python -m ssl_waveform.finetune``).

Initialisation from scratch, ImageNet, a pretrained encoder folder or a timm checkpoint; stratified seeded
splits (by recording when the corpus records a source per window); a labeled-subset knob
(``labels_per_class`` / ``label_fraction``); training on the shared engine with warmup + cosine, layer-wise lr
decay, label smoothing, drop path, training augmentation, a classifier window shorter than the corpus's
(``window_seconds`` / ``window_periods``), linear-probe and two-phase modes, early stopping on validation macro-F1 and the
best classifier kept. Outputs in the run folder: ``metrics.json``, ``confusion_matrix.png``,
``training_curves.png`` and the ``classifier/`` folder.
"""

from ssl_waveform.finetune.run import (
    FinetuneConfig,
    FinetuneResult,
    build_encoder_for_finetune,
    classifier_window,
    finetune,
    last_stretch,
    resolve_init,
)
from ssl_waveform.finetune.splits import (
    Splits,
    labeled_subset,
    split_corpus,
    split_groups,
    stratified_split,
    write_split_parts,
)

__all__ = [
    "FinetuneConfig",
    "FinetuneResult",
    "Splits",
    "build_encoder_for_finetune",
    "classifier_window",
    "finetune",
    "labeled_subset",
    "last_stretch",
    "resolve_init",
    "split_corpus",
    "split_groups",
    "stratified_split",
    "write_split_parts",
]
