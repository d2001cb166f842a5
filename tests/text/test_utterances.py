from emotrace.model import SpeechSegment
from emotrace.text.asr import AsrWord
from emotrace.text.utterances import group_words


def _words(spec: list[tuple[float, float, str]]) -> list[AsrWord]:
    return [AsrWord(a, b, t, 0.9) for a, b, t in spec]


WORDS = _words(
    [
        (0.0, 0.3, " Hello"),
        (0.3, 0.6, " there."),
        (0.7, 0.9, " How"),
        (0.9, 1.1, " are"),
        (1.1, 1.4, " you"),
        (3.0, 3.3, " fine"),
        (3.3, 3.6, " thanks"),
    ]
)


def test_splits_at_sentence_end_and_pause() -> None:
    groups = group_words(WORDS, max_gap_s=1.0)
    assert [g.text for g in groups] == ["Hello there.", "How are you", "fine thanks"]
    assert groups[1].start_s == 0.7 and groups[1].end_s == 1.4
    assert all(g.speaker_id is None for g in groups)


def test_speaker_change_splits_and_largest_overlap_wins() -> None:
    speech = [
        SpeechSegment(start_s=0.0, end_s=0.95, speaker_id="A"),
        SpeechSegment(start_s=0.95, end_s=2.0, speaker_id="B", person_id="P2"),
        SpeechSegment(start_s=2.9, end_s=3.7, speaker_id="A"),
    ]
    words = _words([(0.0, 0.4, " so"), (0.4, 0.9, " what"), (1.0, 1.3, " nothing"), (1.3, 1.8, " much")])
    groups = group_words(words, speech)
    assert [(g.text, g.speaker_id) for g in groups] == [("so what", "A"), ("nothing much", "B")]
    assert groups[1].person_id == "P2"
    # an utterance straddling two speakers belongs to the one it overlaps most
    one = group_words(
        _words([(0.6, 0.9, " yes"), (0.9, 1.9, " indeed")]), [speech[0]] + [speech[1]], max_gap_s=5
    )
    assert [g.speaker_id for g in one] == ["A", "B"]
    mixed = group_words(_words([(2.5, 3.6, " okay")]), speech)
    assert mixed[0].speaker_id == "A"


def test_long_utterance_is_split() -> None:
    words = _words([(i * 0.5, i * 0.5 + 0.4, " word") for i in range(50)])
    groups = group_words(words, max_duration_s=10.0)
    assert len(groups) >= 3
    assert all(g.end_s - g.start_s <= 10.0 for g in groups)
    assert sum(len(g.words) for g in groups) == 50


def test_word_times_are_snapped_to_the_speech_around_them() -> None:
    """Whisper stretches the first word after a pause back into the pause: "fue" reported from
    1.92 s when its speech starts at 3.12 s. Snapped, the utterance starts with its speech, the
    pause splits it from the previous words, and small disagreements (< 0.2 s) stay."""
    speech = [SpeechSegment(start_s=0.0, end_s=1.9, speaker_id="A"), SpeechSegment(start_s=3.12, end_s=5.0, speaker_id="B")]
    words = _words([(0.0, 0.9, " estoy"), (0.9, 1.92, " feliz"), (1.92, 3.5, " fue"), (3.5, 4.0, " un"),
                    (4.0, 5.3, " día"), (5.3, 6.4, " terrible")])  # fmt: skip
    groups = group_words(words, speech)
    assert [(g.text, g.speaker_id) for g in groups] == [("estoy feliz", "A"), ("fue un día terrible", "B")]
    assert groups[1].start_s == 3.12 and groups[0].end_s == 1.92  # 0.02 s over: kept
    assert groups[1].end_s == 6.4  # "terrible" lies wholly after the segment: not moved
    assert [w.end_s for w in groups[1].words][:3] == [3.5, 4.0, 5.0]
