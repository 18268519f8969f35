"""A Rasa training-data importer that adds a shop's labelled chat logs to the NLU training data.

In config.yml, beside Rasa's own file importer::

    importers:
      - name: RasaFileImporter
      - name: actions.importers.LabelledLogsImporter
        path: null          # a JSONL file; null = AFTERSALES_TRAINING_LOGS, else ../shared/train/chat_logs.jsonl

The file format and the choice of path are ``bot.labelled_logs``'s. Rows with an intent the domain does not
declare, or with no text, are skipped and listed with their line numbers in the training log. The importer
contributes NLU examples only: no domain, stories or config of its own.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Union

from rasa.shared.core.domain import Domain
from rasa.shared.exceptions import RasaException
from rasa.shared.core.training_data.structures import StoryGraph
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.cli import print_info, print_warning

from bot import labelled_logs

logger = logging.getLogger(__name__)
_MAX_LISTED_REJECTS = 20


class LabelledLogsImporter(TrainingDataImporter):
    def __init__(
        self,
        config_file: Optional[Text] = None,
        domain_path: Optional[Text] = None,
        training_data_paths: Optional[Union[List[Text], Text]] = None,
        path: Optional[Text] = None,
        **kwargs: Any,
    ) -> None:
        self._domain_path = domain_path
        self._choice = labelled_logs.choose_logs_path(path)
        self._nlu: Optional[TrainingData] = None

    def get_domain(self) -> Domain:
        return Domain.empty()

    def get_stories(self, exclusion_percentage: Optional[int] = None) -> StoryGraph:
        return StoryGraph([])

    def get_conversation_tests(self) -> StoryGraph:
        return StoryGraph([])

    def get_config(self) -> Dict:
        return {}

    def get_config_file_for_auto_config(self) -> Optional[Text]:
        return None

    def _known_intents(self) -> Optional[List[Text]]:
        if not self._domain_path:
            return None
        try:
            return list(Domain.load(self._domain_path).intents)
        except Exception as error:  # the domain's own importer reports a broken domain
            logger.warning(f"LabelledLogsImporter: could not read intents from {self._domain_path}: {error}")
            return None

    def get_nlu_data(self, language: Optional[Text] = "en") -> TrainingData:
        if self._nlu is None:
            self._nlu = self._load()
        return self._nlu

    def _load(self) -> TrainingData:
        choice = self._choice
        if choice.path is None:
            print_info(f"Labelled chat logs: none ({choice.reason}); training on the team's examples alone.")
            return TrainingData()
        try:
            logs = labelled_logs.read_labelled_logs(choice.path, self._known_intents())
        except OSError as error:
            # A path that was asked for must be readable: training on less data than intended is not a fallback.
            raise RasaException(f"Labelled chat logs {choice.path} ({choice.reason}) cannot be read: {error}") from None
        print_info(f"Labelled chat logs: {logs.summary()} ({choice.reason}).")
        for rejected in logs.rejected[:_MAX_LISTED_REJECTS]:
            print_warning(f"  {choice.path}:{rejected.line}: skipped, {rejected.reason}")
        if len(logs.rejected) > _MAX_LISTED_REJECTS:
            print_warning(f"  ... and {len(logs.rejected) - _MAX_LISTED_REJECTS} more skipped rows")
        return TrainingData(
            training_examples=[Message.build(text=message.text, intent=message.intent) for message in logs.messages]
        )
