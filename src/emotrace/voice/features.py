"""Window feature vector of the speech emotion model: pooled Whisper states + prosody."""

from __future__ import annotations

import numpy as np

from emotrace.voice.encoder import pool_states
from emotrace.voice.prosody import prosody_features


def window_features(states: np.ndarray, level_audio: np.ndarray) -> np.ndarray:
    """Feature vector from a window's encoder states and its level-normalised audio."""
    states = np.asarray(states, dtype=np.float32)
    return np.concatenate([pool_states(states), prosody_features(level_audio)]).astype(np.float32)
