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
  ``confusion.png``, ``MODEL_CARD.md``), atomic writes, and the model-card writer. Every
  trainer (face, voice, text, text-multilingual, fusion, highlights) writes its ``-o`` run
  folder through it, the model file inside; the loaders take the folder or the file. Face, text
  and voice continue a stopped run with ``--resume`` (per epoch; voice per finished fit); the
  others are single deterministic fits of seconds to minutes, rerun rather than resumed.
"""
