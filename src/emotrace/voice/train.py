"""Training of emotrace's speech emotion model over one or several corpora.

Features (:func:`extract_states`, cached per clip by :class:`emotrace.voice.cache.StateCache`):
the Whisper-base encoder states of the clip's speech span and its prosody, for the clean clip
and seeded augmented copies. Heads and protocols are in :mod:`emotrace.voice.crosscorpus`;
:func:`train_corpora` runs leave-one-corpus-out, speaker-independent CV inside one corpus, the
final fit and writes the run folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.errors import InputError
from emotrace.io.media import load_audio
from emotrace.train.run import CONFIG, LAST, RunFolder, model_card
from emotrace.voice.cache import CACHE_VERSION, ClipStates, StateCache, file_hash
from emotrace.voice.datasets import Dataset, count_by_corpus
from emotrace.voice.encoder import encode_audio, normalise_level
from emotrace.voice.prosody import prosody_features
from emotrace.voice.vad import trim_to_speech

FEATURE_VERSION = "whisper-base-meanstd+prosody16-v1"


def clip_states(model: Any, audio: np.ndarray) -> ClipStates:
    """Encoder states (float16) and prosody of one trimmed speech clip, level-normalised as in the stage."""
    level = normalise_level(audio)
    return ClipStates(encode_audio(model, level).astype(np.float16), prosody_features(level))


def extract_states(
    ds: Dataset,
    model: Any,
    cache: StateCache,
    copies: int = 0,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[list[ClipStates]], list[str]]:
    """Per item: the clean clip's states, then ``copies`` seeded augmented versions
    (:func:`emotrace.voice.augment.random_chain`), all through ``cache``.

    Returns the entries and the paths that could not be read (skipped, reported once by the caller).
    """
    from emotrace.voice.augment import random_chain

    out: list[list[ClipStates]] = []
    bad: list[str] = []
    for i, it in enumerate(ds.items):
        try:
            h = file_hash(it.path)
        except OSError:
            bad.append(str(it.path))
            out.append([])
            continue
        keys = [cache.key(it.path, "clean")] + [
            cache.key(it.path, f"aug{seed}.{k}") for k in range(1, copies + 1)
        ]
        entries = [cache.get(k) for k in keys]
        if any(e is None for e in entries):
            try:
                audio = load_audio(it.path)
            except Exception:  # noqa: BLE001 - any decoder failure means an unreadable clip
                audio = np.zeros(0, dtype=np.float32)
            if audio.size < 1600 or not np.isfinite(audio).all():
                bad.append(str(it.path))
                out.append([])
                continue
            speech = trim_to_speech(audio)
            for k, key in enumerate(keys):
                if entries[k] is not None:
                    continue
                x = speech
                if k:
                    rng = np.random.default_rng([seed, k, int(h[:8], 16)])
                    x, _ = random_chain(speech, rng)
                entries[k] = clip_states(model, x)
                cache.put(key, entries[k])  # type: ignore[arg-type]  # just set, not None
        out.append([e for e in entries if e is not None])
        if progress:
            progress(i + 1, len(ds.items))
    return out, bad


def speaker_folds(speakers: np.ndarray, n_folds: int) -> list[np.ndarray]:
    """Speakers in sorted order dealt into ``n_folds`` contiguous groups (01-04, 05-08, ...)."""
    uniq = sorted(set(speakers.tolist()))
    n_folds = min(n_folds, len(uniq))
    return [np.array(g) for g in np.array_split(np.array(uniq, dtype=object), n_folds)]


def fit_temperature(logits: np.ndarray, target: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of out-of-fold predictions."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(target)), target].mean())

    return round(float(np.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x)), 4)


def score(y: np.ndarray, pred: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Accuracy, unweighted average recall, macro-F1, per-class recall and confusion (rows =
    truth): :func:`emotrace.train.metrics.report`."""
    from emotrace.train.metrics import report

    return report(list(y), list(pred), labels)


def _pool(ds: Dataset, entries: list[list[ClipStates]]) -> Any:
    from emotrace.voice.crosscorpus import Pool

    keep = np.array([len(e) > 0 for e in entries])
    col = {k: np.array([getattr(it, k) for it in ds.items])[keep] for k in ("label", "speaker", "corpus")}
    return Pool([e for e in entries if e], col["label"], col["speaker"], col["corpus"])


def _head_factory(head: str, speaker_norm: bool, augment: bool, C: float, epochs: int) -> Callable[[], Any]:
    from emotrace.voice.crosscorpus import AttnHead, LogRegHead

    if head == "logreg":
        return lambda: LogRegHead(C=C, speaker_norm=speaker_norm, augment=augment)
    if head == "attn":
        return lambda: AttnHead(epochs=epochs, speaker_norm=speaker_norm, augment=augment)
    raise InputError(head, "unknown head (logreg, attn)")


def _fit(make: Callable[[], Any], pool: Any, seed: int) -> Any:
    return make().fit(pool, seed=seed)


def _tee(log: Callable[[str], None], rf: RunFolder) -> Callable[[str], None]:
    def both(msg: str) -> None:
        log(msg)
        rf.log(msg)

    return both


def train_corpora(
    ds: Dataset,
    run_dir: Path,
    whisper: Any,
    cache: StateCache,
    head: str = "attn",
    copies: int = 2,
    seed: int = 0,
    folds: int = 5,
    loco: bool = True,
    cv_corpus: str | None = None,
    C: float = 0.01,
    epochs: int = 12,
    log: Callable[[str], None] = lambda s: None,
    progress: Callable[[int, int], None] | None = None,
    command: str = "",
    resume: bool = False,
    encoder: str = "whisper-base",
) -> dict[str, Any]:
    """Extract (or reuse) states, evaluate by leave-one-corpus-out and speaker CV, fit the final
    per-speaker and global heads on everything and write ``run_dir`` in the run-folder layout of
    :mod:`emotrace.train.run`: ``config.json``, the model, ``metrics.json``, ``confusion.png``
    (speaker CV, per-speaker normalisation), ``train.log`` and ``MODEL_CARD.md``.

    A run is six fits (leave-one-corpus-out, speaker CV and the final fit, each for both heads);
    ``last.pt`` holds every finished one, so ``resume`` (the same data and settings) continues
    after the last finished fit and ends with the same report and model as an uninterrupted run
    (each fit is seeded on its own). The encoder states are cached per clip, so extraction resumes
    through the cache."""
    from emotrace.voice import crosscorpus as cc

    t0 = time.perf_counter()
    rf = RunFolder(run_dir, echo=None)
    rf.start(resume)
    settings = {
        "data": sorted({it.corpus for it in ds.items}), "head": head, "augmented_copies": copies, "seed": seed,
        "folds": folds, "loco": loco, "cv_corpus": cv_corpus, "C": C, "epochs": epochs, "cache_version": CACHE_VERSION,
        "encoder": encoder,
    }  # fmt: skip
    done: dict[str, Any] = {}
    if resume:
        saved = rf.read_json(CONFIG)
        changed = sorted(k for k in settings if saved.get(k) != settings[k])
        if changed:
            raise InputError(run_dir, "was started with other settings (" + ", ".join(
                f"{k}={saved.get(k)!r}" for k in changed) + "); resume it with those")  # fmt: skip
        done = rf.load_checkpoint()["done"]
    else:
        rf.write_config(settings)
    log = _tee(log, rf)  # the caller's log, also kept in train.log
    if done:
        log(f"resuming: {len(done)} finished fit(s) in {LAST} ({', '.join(done)})")

    def step(key: str, fit: Callable[[], Any]) -> Any:
        if key not in done:
            done[key] = fit()
            rf.save_checkpoint({"config": settings, "done": done})
            log(f"fit {key} done")
        return done[key]

    entries, bad = extract_states(ds, whisper, cache, copies=copies, seed=seed, progress=progress)
    if bad:
        log(f"skipped {len(bad)} unreadable clip(s), e.g. {bad[0]}")
    pool = _pool(ds, entries)
    if len(set(pool.labels.tolist())) < 2:
        raise InputError(run_dir, "need at least two emotion classes to train")
    corpora = sorted(set(pool.corpora.tolist()))
    report: dict[str, Any] = {
        "cache_version": CACHE_VERSION,
        "encoder": encoder,
        "head": head,
        "augmented_copies": copies,
        "seed": seed,
        "C": C if head == "logreg" else None,
        "epochs": epochs if head == "attn" else None,
        "n": len(pool.labels),
        "skipped": bad,
        "speakers": len(set(pool.speakers.tolist())),
        "corpora": count_by_corpus(pool.corpora.tolist(), pool.labels.tolist()),
        "dropped": dict(ds.dropped),
    }
    make = {
        norm: _head_factory(head, norm == "per_speaker_norm", copies > 0, C, epochs)
        for norm in ("per_speaker_norm", "global_norm")
    }
    temps: dict[str, float] = {}
    if loco and len(corpora) >= 2:
        report["loco"] = {}
        for norm, mk in make.items():
            log(f"leave-one-corpus-out, {norm}:")
            r = dict(step(f"loco/{norm}", partial(cc.leave_one_corpus_out, mk, pool, corpora=corpora,
                                                  seed=seed, log=log)))
            temps[norm] = fit_temperature(r.pop("logits"), r.pop("targets"))
            report["loco"][norm] = r
            log(f"  mean UAR {r['mean_uar']:.3f}")
    cv_corpus = cv_corpus or ("ravdess" if "ravdess" in corpora else corpora[0])
    n_spk = len(set(pool.speakers[pool.corpora == cv_corpus].tolist()))
    if folds >= 2 and n_spk >= 2:
        report["speaker_cv"] = {"corpus": cv_corpus}
        for norm, mk in make.items():
            r = dict(step(f"speaker_cv/{norm}", partial(cc.speaker_cv, mk, pool, corpus=cv_corpus,
                                                        n_folds=folds, seed=seed)))
            if norm not in temps:
                temps[norm] = fit_temperature(r.pop("logits"), r.pop("targets"))
            else:
                r.pop("logits"), r.pop("targets")
            report["speaker_cv"][norm] = r
            log(f"speaker CV in {cv_corpus}, {norm}: accuracy {r['accuracy']:.3f}  UAR {r['uar']:.3f}")
    final = {norm: step(f"final/{norm}", partial(_fit, mk, pool, seed)) for norm, mk in make.items()}
    t_spk, t_glob = temps.get("per_speaker_norm", 1.0), temps.get("global_norm", 1.0)
    if head == "attn":
        path = run_dir / "voice-emotion.onnx"
        cc.export_attn(final["per_speaker_norm"], final["global_norm"], str(path), (t_spk, t_glob), encoder)
    else:
        path = run_dir / "voice-emotion.npz"
        cc.logreg_model(final["per_speaker_norm"], final["global_norm"], (t_spk, t_glob), encoder).save(path)
    report["model"] = path.name
    report["labels"] = [lab for lab in cc.LABELS if lab in set(pool.labels.tolist())]
    report["temperature"] = {"per_speaker_norm": t_spk, "global_norm": t_glob}
    report["seconds"] = round(time.perf_counter() - t0, 1)
    if command:
        report["command"] = command
    cv_key = "speaker_cv.per_speaker_norm" if "speaker_cv" in report else None
    rf.write_metrics(report, cv_key, f"speaker CV in {cv_corpus}, per-speaker normalisation" if cv_key else "")
    results: list[tuple[str, dict[str, Any]]] = []
    for norm, r in report.get("loco", {}).items():
        results += [(f"{c} left out ({norm})", rep) for c, rep in r["per_corpus"].items()]
    for norm in ("per_speaker_norm", "global_norm"):
        if norm in report.get("speaker_cv", {}):
            results.append((f"{folds}-fold speaker CV in {cv_corpus} ({norm})", report["speaker_cv"][norm]))
    rf.write_card(model_card(
        "speech emotion model",
        what=f"{head} head over Whisper-base encoder states and prosody, per-speaker and global normalisation "
        f"({path.name}; labels {', '.join(report['labels'])}).",
        data="; ".join(f"{c}: {sum(n.values())} clips" for c, n in report["corpora"].items())
        + (f"; dropped (no canonical label): {report['dropped']}" if report["dropped"] else ""),
        split="leave-one-corpus-out (each corpus scored by heads trained on the others, on the classes it has) "
        "and speaker-independent folds inside one corpus (no speaker on both sides).",
        results=results, command=command or "emotrace train voice ...", config=settings,
    ))  # fmt: skip
    return report
