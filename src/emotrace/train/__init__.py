"""emotrace's one training and evaluation core, shared by every trainer.

Where training code lives (one rule): each capability trains its models in its own folder
(``faces/train.py``, ``voice/train.py`` + ``voice/crosscorpus.py``, ``text/train.py`` +
``text/multilingual.py``, ``fusion/train.py``, ``analysis/highlight_model.py``), with its
``train`` / ``eval`` commands in that folder's ``cli.py``; what they share lives here:

* :mod:`emotrace.train.metrics`: the one accuracy / macro-F1 / weighted-F1 / UAR / per-class
  recall / confusion implementation, class weights, the confusion-matrix text;
* :mod:`emotrace.train.core`: seeding and thread setup for PyTorch training;
* :mod:`emotrace.train.run`: the one run-folder layout (``config.json``, ``history.json``,
  ``train.log``, ``last.pt``/``best.pt`` with checkpoint/resume, ``metrics.json``,
  ``confusion.png``, ``MODEL_CARD.md``), atomic writes, and the model-card writer. The face,
  voice and text trainers write their folders through it; the text-multilingual, fusion and
  highlight trainers write one self-describing model file (their held-out numbers inside it),
  atomically.
"""
