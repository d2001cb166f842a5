"""Corpora: resumable batch analysis on a local process pool or a Dask cluster, and a SQLite index.

Python API::

    from emotrace.batch import collect_inputs, run_batch, LocalEngine, CorpusIndex
    summary = run_batch(collect_inputs(["videos/"]), "corpus/", config, LocalEngine(2))
    CorpusIndex("corpus/").rank("anger")
"""

from emotrace.batch.engines import DaskEngine, LocalEngine
from emotrace.batch.index import CorpusIndex
from emotrace.batch.inputs import BatchItem, collect_inputs
from emotrace.batch.runner import BatchSummary, run_batch

__all__ = ["BatchItem", "BatchSummary", "CorpusIndex", "DaskEngine", "LocalEngine", "collect_inputs", "run_batch"]
