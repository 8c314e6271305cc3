"""The JSON body parser of every DRF view: DRF's own, with a too-deep body refused as 400.

Python's json decoder raises RecursionError (not ValueError) on deeply nested input, e.g.
20,000 `[`; DRF's parser maps only ValueError, so such a body answered 500.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

logger = logging.getLogger(__name__)

TOO_DEEP = _("JSON parse error - the body is nested too deeply.")


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # One line, no traceback: a stranger can send this as often as they like.
            logger.warning("refused a JSON body nested too deeply")
            raise ParseError(TOO_DEEP) from None
