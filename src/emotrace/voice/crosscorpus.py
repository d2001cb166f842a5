"""Multi-corpus training and cross-corpus evaluation of the speech emotion model.

* :func:`balanced_weights`: each corpus carries the same total weight and, inside a corpus,
  each of its classes the same weight, so no corpus and no class dominates;
* :func:`leave_one_corpus_out`: train on every corpus but one, test on the one left out, on
  the classes it has (the decision is restricted to them);
* :func:`speaker_cv`: speaker-independent folds inside one corpus;
* heads: ``logreg`` (today's recipe: logistic regression over pooled states + prosody) and
  ``attn`` (attention pooling + MLP over the frozen frame states, PyTorch for training,
  ONNX at inference), each with per-speaker or global normalisation.

Per-speaker normalisation uses only a speaker's own clips (unlabelled), as the stage does
within one video; no statistic of a test corpus enters training.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emotrace.labels import CANONICAL
from emotrace.voice.cache import ClipStates
from emotrace.voice.classifier import pad_frames, speaker_normalise, speaker_stats
from emotrace.voice.train import score, speaker_folds

LABELS: tuple[str, ...] = CANONICAL
LOCO_CORPORA: tuple[str, ...] = ("ravdess", "tess", "nemo", "ased")


@dataclass
class Pool:
    """Clips with their cached states: ``entries[i]`` is the clean version then augmented copies."""

    entries: list[list[ClipStates]]
    labels: np.ndarray
    speakers: np.ndarray
    corpora: np.ndarray
    _pooled: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def subset(self, rows: np.ndarray) -> Pool:
        idx = np.flatnonzero(rows) if rows.dtype == bool else rows
        return Pool([self.entries[i] for i in idx], self.labels[idx], self.speakers[idx], self.corpora[idx])

    def pooled(self, copy: int = 0) -> np.ndarray:
        """Pooled feature rows of copy ``copy`` (0 = clean; a clip without that copy uses its clean one)."""
        if copy not in self._pooled:
            self._pooled[copy] = np.stack(
                [(e[copy] if copy < len(e) else e[0]).pooled() for e in self.entries]
            )
        return self._pooled[copy]

    @property
    def copies(self) -> int:
        return min(len(e) for e in self.entries)


def balanced_weights(labels: np.ndarray, corpora: np.ndarray) -> np.ndarray:
    """Sample weights: every corpus sums to the same total, every class inside a corpus too (mean 1)."""
    w = np.zeros(len(labels))
    cs = np.unique(corpora)
    for c in cs:
        in_c = corpora == c
        classes = np.unique(labels[in_c])
        for lab in classes:
            rows = in_c & (labels == lab)
            w[rows] = 1.0 / (len(cs) * len(classes) * rows.sum())
    return w * len(labels) / w.sum()


def per_speaker(X: np.ndarray, groups: np.ndarray) -> np.ndarray:
    out = np.empty_like(X)
    for g in np.unique(groups):
        rows = groups == g
        out[rows] = speaker_normalise(X[rows])
    return out


# ---- heads -----------------------------------------------------------------------------------


class LogRegHead:
    """Today's recipe: logistic regression over standardised pooled features."""

    name = "logreg"

    def __init__(self, C: float = 0.05, speaker_norm: bool = True, augment: bool = True) -> None:
        self.C, self.speaker_norm, self.augment = C, speaker_norm, augment

    def _rows(self, pool: Pool, copy: int) -> np.ndarray:
        X = pool.pooled(copy)
        return per_speaker(X, pool.speakers) if self.speaker_norm else X

    def fit(self, pool: Pool, seed: int = 0) -> LogRegHead:
        from sklearn.linear_model import LogisticRegression

        copies = range(pool.copies if self.augment else 1)
        X = np.concatenate([self._rows(pool, k) for k in copies])
        y = np.concatenate([pool.labels for _ in copies])
        w = np.concatenate([balanced_weights(pool.labels, pool.corpora) for _ in copies])
        self.mean, self.scale = X.mean(axis=0), X.std(axis=0) + 1e-6
        clf = LogisticRegression(C=self.C, max_iter=3000)
        clf.fit((X - self.mean) / self.scale, y, sample_weight=w)
        order = [list(clf.classes_).index(lab) if lab in clf.classes_ else -1 for lab in LABELS]
        self.coef = np.stack([clf.coef_[k] if k >= 0 else np.zeros(X.shape[1]) for k in order])
        self.intercept = np.array([clf.intercept_[k] if k >= 0 else -30.0 for k in order])
        return self

    def logits(self, pool: Pool) -> np.ndarray:
        return ((self._rows(pool, 0) - self.mean) / self.scale) @ self.coef.T + self.intercept


class AttnHead:
    """Attention pooling + MLP over frame states, prosody concatenated (PyTorch training)."""

    name = "attn"

    def __init__(
        self,
        hidden: int = 128,
        epochs: int = 25,
        lr: float = 1e-3,
        dropout: float = 0.3,
        speaker_norm: bool = True,
        augment: bool = True,
        max_frames: int = 300,
        weight_decay: float = 1e-2,
        stride: int = 2,
    ) -> None:
        self.hidden, self.epochs, self.lr, self.dropout = hidden, epochs, lr, dropout
        self.speaker_norm, self.augment, self.max_frames = speaker_norm, augment, max_frames
        self.weight_decay, self.stride = weight_decay, stride

    def _stats(self, entries: list[ClipStates], groups: np.ndarray) -> dict[Any, tuple[np.ndarray, ...]]:
        out = {}
        for g in np.unique(groups):
            rows = np.flatnonzero(groups == g)
            prosody = np.stack([entries[i].prosody for i in rows])
            out[g] = speaker_stats((entries[i].states for i in rows), prosody)
        return out

    def _prepare(self, entries: list[ClipStates], groups: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        frames, pros = [], []
        if self.speaker_norm:
            st = self._stats(entries, groups)
            for e, g in zip(entries, groups, strict=True):
                m, s, pm, ps = st[g]
                frames.append(((e.states.astype(np.float32) - m) / s).astype(np.float32))
                pros.append((e.prosody - pm) / ps)
        else:
            for e in entries:
                frames.append(((e.states.astype(np.float32) - self.g_mean) / self.g_scale).astype(np.float32))
                pros.append((e.prosody - self.p_mean) / self.p_scale)
        return frames, np.stack(pros).astype(np.float32)

    def fit(self, pool: Pool, seed: int = 0) -> AttnHead:
        import torch

        from emotrace.voice.attn_net import AttnPoolNet

        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        copies = range(pool.copies if self.augment else 1)
        clean = [e[0] for e in pool.entries]
        allfr = np.concatenate([c.states[::4].astype(np.float32) for c in clean])
        self.g_mean, self.g_scale = allfr.mean(axis=0), allfr.std(axis=0) + 1e-3
        pr = np.stack([c.prosody for c in clean])
        self.p_mean, self.p_scale = pr.mean(axis=0), pr.std(axis=0) + 1e-3
        # versions[k][i]: clip i's copy k (0 = clean), normalised per (speaker, copy): each
        # epoch every clip is seen once, as a randomly drawn one of its versions
        versions = []
        for k in copies:
            ent = [e[k] if k < len(e) else e[0] for e in pool.entries]
            versions.append(self._prepare(ent, np.array([f"{s}|{k}" for s in pool.speakers])))
        y = np.array([LABELS.index(lab) for lab in pool.labels])
        w = balanced_weights(pool.labels, pool.corpora).astype(np.float32)
        net = AttnPoolNet(
            versions[0][0][0].shape[1], versions[0][1].shape[1], len(LABELS), self.hidden, self.dropout
        )
        present = np.zeros(len(LABELS), dtype=bool)
        present[np.unique(y)] = True
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        n = len(y)
        batch = 64
        steps = self.epochs * ((n + batch - 1) // batch)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=steps)
        lengths = np.array([len(f) for f in versions[0][0]])
        mask_absent = torch.tensor(np.where(present, 0.0, -30.0), dtype=torch.float32)
        for _ in range(self.epochs):
            net.train()
            order = rng.permutation(n)
            pick = rng.integers(0, len(versions), n)
            # bucket by length inside shuffled chunks (less padding)
            chunks = [order[i : i + batch * 16] for i in range(0, n, batch * 16)]
            for ch in chunks:
                ch = ch[np.argsort(lengths[ch])]
                for i in range(0, len(ch), batch):
                    b = ch[i : i + batch]
                    fr = [self._crop(versions[pick[j]][0][j], rng) for j in b]
                    xb, mb = self._pad(fr)
                    pb = np.stack([versions[pick[j]][1][j] for j in b])
                    logits = net(xb, torch.from_numpy(pb), mb) + mask_absent
                    loss = torch.nn.functional.cross_entropy(
                        logits, torch.from_numpy(y[b]), reduction="none", label_smoothing=0.05
                    )
                    loss = (loss * torch.from_numpy(w[b])).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    sched.step()
        net.eval()
        self.net, self.present = net, present
        return self

    def _crop(self, f: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random window of at most ``max_frames``, every ``stride``-th frame from a random phase
        (attention and mean pooling are about invariant to it; training costs 1/stride)."""
        if len(f) > self.max_frames:
            a = int(rng.integers(0, len(f) - self.max_frames + 1))
            f = f[a : a + self.max_frames]
        if self.stride > 1 and len(f) >= 2 * self.stride:
            f = f[int(rng.integers(0, self.stride)) :: self.stride]
        return f

    @staticmethod
    def _pad(frames: list[np.ndarray]) -> tuple[Any, Any]:
        import torch

        x, m = pad_frames(frames)
        return torch.from_numpy(x), torch.from_numpy(m)

    def logits(self, pool: Pool) -> np.ndarray:
        import torch

        frames, P = self._prepare([e[0] for e in pool.entries], pool.speakers)
        out = []
        with torch.no_grad():
            for i in range(0, len(frames), 64):
                xb, mb = self._pad(frames[i : i + 64])
                out.append(self.net(xb, torch.from_numpy(P[i : i + 64]), mb).numpy())
        z = np.concatenate(out)
        return np.where(self.present, z, -30.0)


class EnsembleHead:
    """``n`` heads of one kind, trained on the same rows with seeds ``seed, seed + 1, ...``; the
    logits are the mean of their log-probabilities (a normalised geometric mean)."""

    name = "ens"

    def __init__(self, n: int = 3, kind: str = "attn", **options: Any) -> None:
        self.n, self.kind, self.options = n, kind, options
        self.heads: list[Any] = []

    def fit(self, pool: Pool, seed: int = 0) -> EnsembleHead:
        self.heads = [HEADS[self.kind](**self.options).fit(pool, seed=seed + k) for k in range(self.n)]
        return self

    def logits(self, pool: Pool) -> np.ndarray:
        from scipy.special import log_softmax

        return np.mean([log_softmax(h.logits(pool), axis=1) for h in self.heads], axis=0)


HEADS: dict[str, Callable[..., Any]] = {"logreg": LogRegHead, "attn": AttnHead, "ens": EnsembleHead}


def export_attn(
    spk: AttnHead,
    glob: AttnHead,
    path: str,
    temperatures: tuple[float, float] = (1.0, 1.0),
    encoder: str = "whisper-base",
) -> None:
    """Both fitted heads as one ONNX graph (see :class:`emotrace.voice.attn_net.TwoHeads`); labels,
    temperatures, the classes seen in training and the encoder model go into the model's metadata."""
    import json

    import onnx
    import torch

    from emotrace.voice.attn_net import TwoHeads

    g = [
        torch.from_numpy(np.asarray(a, dtype=np.float32))
        for a in (glob.g_mean, glob.g_scale, glob.p_mean, glob.p_scale)
    ]
    net = TwoHeads(spk.net, glob.net, g).eval()
    d, p = len(glob.g_mean), len(glob.p_mean)
    args = (
        torch.zeros(1, 50, d),
        torch.zeros(1, p),
        torch.ones(1, 50, dtype=torch.bool),
        torch.zeros(d),
        torch.ones(d),
        torch.zeros(p),
        torch.ones(p),
    )
    names = ["frames", "prosody", "mask", "mean", "scale", "p_mean", "p_scale"]
    torch.onnx.export(
        net,
        args,
        path,
        input_names=names,
        output_names=["logits_spk", "logits_glob"],
        dynamic_axes={
            "frames": {0: "b", 1: "t"},
            "prosody": {0: "b"},
            "mask": {0: "b", 1: "t"},
            "logits_spk": {0: "b"},
            "logits_glob": {0: "b"},
        },
        opset_version=17,
        dynamo=False,
    )
    m = onnx.load(path)
    meta = {
        "labels": list(LABELS),
        "present": [bool(v) for v in (spk.present & glob.present)],
        "temperature_spk": float(temperatures[0]),
        "temperature_glob": float(temperatures[1]),
        "encoder": encoder,
    }
    m.metadata_props.add(key="emotrace", value=json.dumps(meta))
    onnx.save(m, path)


# ---- protocols -------------------------------------------------------------------------------


def masked_logits(z: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """``z`` over :data:`LABELS` with the classes outside ``labels`` pushed to -1e9."""
    out = np.full_like(z, -1e9)
    keep = [LABELS.index(lab) for lab in labels]
    out[:, keep] = z[:, keep]
    return out


def evaluate_head(head: Any, test: Pool) -> tuple[dict[str, Any], np.ndarray]:
    """Scores of a fitted head on ``test``, the decision restricted to the classes ``test`` has,
    and the restricted logits (over :data:`LABELS`, for calibration)."""
    labels = [lab for lab in LABELS if lab in set(test.labels.tolist())]
    z = masked_logits(head.logits(test), labels)
    return score(test.labels, np.array(LABELS)[z.argmax(axis=1)], labels), z


def leave_one_corpus_out(
    make_head: Callable[[], Any],
    pool: Pool,
    corpora: Sequence[str] = LOCO_CORPORA,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Per left-out corpus: train on the others (all other corpora in ``pool``), test on it."""
    per: dict[str, Any] = {}
    zs, ts = [], []
    for c in corpora:
        test = pool.corpora == c
        if not test.any() or test.all() or len(set(pool.labels[test].tolist())) < 2:
            continue
        head = make_head().fit(pool.subset(~test), seed=seed)
        per[c], z = evaluate_head(head, pool.subset(test))
        zs.append(z)
        ts.append(np.array([LABELS.index(lab) for lab in pool.labels[test]]))
        if log:
            log(f"  LOCO {c}: UAR {per[c]['uar']:.3f}  accuracy {per[c]['accuracy']:.3f}  (n={per[c]['n']})")
    return {
        "per_corpus": per,
        "mean_uar": float(np.mean([r["uar"] for r in per.values()])) if per else 0.0,
        "mean_accuracy": float(np.mean([r["accuracy"] for r in per.values()])) if per else 0.0,
        "logits": np.concatenate(zs) if zs else np.zeros((0, len(LABELS))),
        "targets": np.concatenate(ts) if ts else np.zeros(0, dtype=int),
    }


def speaker_cv(
    make_head: Callable[[], Any],
    pool: Pool,
    corpus: str = "ravdess",
    n_folds: int = 5,
    others: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Speaker-independent CV inside ``corpus`` (speakers dealt in sorted order into folds); with
    ``others`` the other corpora are in every training fold too."""
    inside = pool.corpora == corpus
    spk = pool.speakers
    y_true, zs, folds = [], [], []
    labels = [lab for lab in LABELS if lab in set(pool.labels[inside].tolist())]
    for held in speaker_folds(spk[inside], n_folds):
        test = inside & np.isin(spk, held)
        train = ~test if others else (inside & ~test)
        head = make_head().fit(pool.subset(train), seed=seed)
        sub = pool.subset(test)
        zs.append(masked_logits(head.logits(sub), labels))
        y_true.append(sub.labels)
        folds.append([str(s) for s in held])
    z, y = np.concatenate(zs), np.concatenate(y_true)
    out = score(y, np.array(LABELS)[z.argmax(axis=1)], labels)
    out["folds"] = folds
    out["logits"], out["targets"] = z, np.array([LABELS.index(lab) for lab in y])
    return out


def logreg_model(
    spk: LogRegHead, glob: LogRegHead, temperatures: tuple[float, float] = (1.0, 1.0), encoder: str = "whisper-base"
) -> Any:
    """Two fitted :class:`LogRegHead` as the portable :class:`VoiceEmotionModel` (classes seen only)."""
    from emotrace.voice.classifier import Head, VoiceEmotionModel

    keep = [i for i in range(len(LABELS)) if spk.intercept[i] > -29 and glob.intercept[i] > -29]
    heads = [
        Head(h.mean, h.scale, h.coef[keep], h.intercept[keep], t)
        for h, t in ((spk, temperatures[0]), (glob, temperatures[1]))
    ]
    return VoiceEmotionModel(labels=[LABELS[i] for i in keep], spk=heads[0], glob=heads[1], encoder=encoder)
