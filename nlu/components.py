"""Rasa 3.6 graph components for Vietnamese as citizens type it.

`VietnameseTokenizer` keeps every token's place in the original text (so entity offsets stay
right) and gives the featurizers a normalised, diacritics-free lemma: NFC, one tone-mark
placement, lower case, shorthand expanded ("ko" → "khong", "dk" → "dang ky"). "Sổ đỏ", "sổ đỏ"
in NFD and "so do" all become the features of "so do".

`PhraseEntityExtractor` learns, from the annotated examples and synonyms, which wordings name a
procedure or an aspect, and finds them in the same folded view: "lam so hong", "sổ hồng" and
"SỔ HỒNG" all give `procedure=cap_so_do` with the offsets of the words in the original text.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from typing import Any, Dict, List, Optional, Text

import rasa.shared.utils.io
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.text import fold_tokens, tokenize_with_spans

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class VietnameseTokenizer(Tokenizer):
    """Syllable tokens with offsets into the original text; lemma = normalised, folded form."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent_tokenization_flag": False, "intent_split_symbol": "_", "token_pattern": None,
                "prefix_separator_symbol": None}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "VietnameseTokenizer":
        return cls(config)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute) or ""
        spans = tokenize_with_spans(text)
        lemmas = fold_tokens([t for t, _, _ in spans])
        tokens = [Token(tok, start, end, lemma=lemma or tok.lower()) for (tok, start, end), lemma in zip(spans, lemmas)]
        if not tokens:
            # Only emoji or punctuation: one placeholder token keeps every featurizer's shapes intact.
            tokens = [Token(text, 0, len(text), lemma="_")]
        return self._apply_token_pattern(tokens)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class PhraseEntityExtractor(GraphComponent, EntityExtractorMixin):
    """A gazetteer learned from the training data, matched on the folded text."""

    FILE_NAME = "phrases.json"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "entities": ["procedure", "aspect"],
            # Longest wording considered, in syllables.
            "max_phrase_tokens": 10,
            # A wording annotated with several values is kept only if one value has this share.
            "min_agreement": 0.8,
        }

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 phrases: Optional[Dict[str, Dict[str, str]]] = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        # entity type → folded wording → value
        self.phrases: Dict[str, Dict[str, str]] = phrases or {}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "PhraseEntityExtractor":
        return cls(config, model_storage, resource)

    @staticmethod
    def _key(text: str) -> str:
        return " ".join(fold_tokens([t for t, _, _ in tokenize_with_spans(text)])).strip()

    def train(self, training_data: TrainingData) -> Resource:
        wanted = set(self._config["entities"])
        votes: Dict[str, Dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
        value_type: Dict[str, str] = {}
        for example in training_data.entity_examples:
            text = example.get(TEXT)
            for ent in example.get(ENTITIES, []):
                etype = ent[ENTITY_ATTRIBUTE_TYPE]
                if etype not in wanted:
                    continue
                value = str(ent.get(ENTITY_ATTRIBUTE_VALUE))
                value_type[value] = etype
                key = self._key(text[ent[ENTITY_ATTRIBUTE_START]:ent[ENTITY_ATTRIBUTE_END]])
                if key:
                    votes[etype][key][value] += 1
        # Synonyms name a value without saying its entity type: take it from the examples.
        for wording, value in training_data.entity_synonyms.items():
            etype = value_type.get(value)
            key = self._key(wording)
            if etype and key:
                votes[etype][key][value] += 1
            # The value itself (e.g. "khai_sinh" typed by a button) is a wording too.
        for value, etype in value_type.items():
            votes[etype][self._key(value.replace("_", " "))][value] += 1

        self.phrases = {}
        for etype, by_key in votes.items():
            table = {}
            for key, counter in by_key.items():
                value, n = counter.most_common(1)[0]
                if n / sum(counter.values()) >= self._config["min_agreement"]:
                    table[key] = value
            self.phrases[etype] = table
        self.persist()
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            found = self.add_extractor_name(self.extract(message.get(TEXT) or ""))
            if found:
                message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages

    def extract(self, text: str) -> List[Dict[str, Any]]:
        """Longest wordings first, left to right, never overlapping within one entity type."""
        spans = tokenize_with_spans(text)
        folded = fold_tokens([t for t, _, _ in spans])
        entities = []
        longest = self._config["max_phrase_tokens"]
        for etype, table in self.phrases.items():
            i = 0
            while i < len(spans):
                for n in range(min(longest, len(spans) - i), 0, -1):
                    value = table.get(" ".join(folded[i:i + n]))
                    if value is not None:
                        start, end = spans[i][1], spans[i + n - 1][2]
                        entities.append({ENTITY_ATTRIBUTE_TYPE: etype, ENTITY_ATTRIBUTE_START: start,
                                         ENTITY_ATTRIBUTE_END: end, ENTITY_ATTRIBUTE_VALUE: value})
                        i += n
                        break
                else:
                    i += 1
        return entities

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as path:
            rasa.shared.utils.io.dump_obj_as_json_to_file(path / self.FILE_NAME, self.phrases)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "PhraseEntityExtractor":
        try:
            with model_storage.read_from(resource) as path:
                phrases = rasa.shared.utils.io.read_json_file(path / cls.FILE_NAME)
        except (ValueError, FileNotFoundError):
            logger.warning("PhraseEntityExtractor has no trained phrases; it will find nothing.")
            phrases = {}
        return cls(config, model_storage, resource, phrases)
