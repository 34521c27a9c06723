"""Text to speech: text front end (:mod:`.frontend`), Tacotron 2 (:mod:`.tacotron2`),
training data (:mod:`.data`), an espeak-ng corpus maker (:mod:`.espeak_corpus`) and
text -> waveform synthesis with a WaveNet vocoder (:mod:`.synthesize`)."""

from wavekit.tts.frontend import SymbolTable, make_symbol_table, normalize_text, phonemize
from wavekit.tts.tacotron2 import Tacotron2, Tacotron2Config

__all__ = ["SymbolTable", "Tacotron2", "Tacotron2Config", "make_symbol_table", "normalize_text", "phonemize"]
