"""A customer's site: a tiny http.server on another origin (http://localhost:PORT, the
service being http://127.0.0.1:PORT) whose page embeds the widget under a CSP of its own
that allows our script and connections but no styles from elsewhere."""

from __future__ import annotations

import html
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.servers import free_port

AGGRESSIVE_CSS = """
* { all: unset !important; }
html, body, main, h1, p, div, section { display: block !important; }
html { font-size: 48px !important; }
body { font: italic 900 48px/4 "Comic Sans MS", fantasy !important; color: #f0f !important;
       letter-spacing: 6px !important; text-transform: uppercase !important;
       background: repeating-linear-gradient(45deg, #ff0, #ff0 10px, #0ff 10px, #0ff 20px) !important; }
div, button, section, p, li, ol, input, textarea, form, label, span {
  box-sizing: content-box !important; padding: 40px !important; margin: 25px !important;
  border: 7px dashed #f00 !important; transform: rotate(3deg) !important;
  line-height: 5 !important; font-size: 60px !important; width: 900px !important; }
:root { --hw-accent: #00ff00; color-scheme: dark; }
"""

PLAIN_CSS = "body { font: 16px/1.5 serif; margin: 0; padding: 24px; }\n"


@dataclass
class CustomerSite:
    """Another origin that embeds the widget; `url(key)` is a page for one chatbot."""

    service_url: str
    port: int = field(default_factory=free_port)

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.port}"

    def url(self, chatbot_key: str, *, css: str = "plain", lang: str | None = None) -> str:
        """The shop's page; `lang` becomes the script tag's `data-lang`."""
        params = {"key": chatbot_key, "css": css}
        if lang is not None:
            params["lang"] = lang
        query = urllib.parse.urlencode(params)
        return f"{self.origin}/shop?{query}"


def customer_handler(site: CustomerSite) -> type[BaseHTTPRequestHandler]:
    ws_service = site.service_url.replace("http://", "ws://")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, body: str, content_type: str, *, csp: bool = False) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if csp:
                self.send_header(
                    "Content-Security-Policy",
                    f"default-src 'self'; script-src 'self' {site.service_url}; "
                    f"connect-src 'self' {site.service_url} {ws_service}; style-src 'self'; "
                    "img-src 'self'",
                )
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parts.query)
            if parts.path == "/plain.css":
                self._send(PLAIN_CSS, "text/css")
            elif parts.path == "/aggressive.css":
                self._send(AGGRESSIVE_CSS, "text/css")
            elif parts.path == "/shop":
                key = html.escape(query.get("key", [""])[0])
                css = "aggressive" if query.get("css", [""])[0] == "aggressive" else "plain"
                src = html.escape(f"{site.service_url}/static/widget/chatbot-widget.js")
                lang = query.get("lang")
                data_lang = f" data-lang='{html.escape(lang[0])}'" if lang else ""
                self._send(
                    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                    "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                    f"<title>Customer shop</title><link rel='stylesheet' href='/{css}.css'>"
                    "</head><body><main><h1>Customer shop</h1>"
                    "<p>Our products are the best. Ask our assistant anything.</p></main>"
                    f"<script src='{src}' data-chatbot='{key}'{data_lang} async></script>"
                    "</body></html>",
                    "text/html; charset=utf-8",
                    csp=True,
                )
            else:
                self.send_error(404)

    return Handler
