"""A project's training video: a link is checked before it is saved, so experts never meet a
video element that cannot play (a YouTube page, a dead link, an http:// link the page's security
policy blocks)."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

#: Sites whose links are pages with their own player, never a file a <video> element can play.
PAGE_HOSTS = {
    "youtube.com": "a YouTube page",
    "youtu.be": "a YouTube page",
    "vimeo.com": "a Vimeo page",
    "drive.google.com": "a Google Drive page",
    "dropbox.com": "a Dropbox page",
    "sharepoint.com": "a SharePoint page",
    "onedrive.live.com": "a OneDrive page",
}
PLAYABLE = ("video/mp4", "video/webm", "video/ogg", "video/quicktime")


def video_url_problem(url: str, *, timeout: float = 5.0) -> str:
    """Why ``url`` cannot play in the labelling app's <video> element ("" when it can): asked
    of the server itself (the first kilobyte), after the cheap checks."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "Use an https:// link: the app's security policy lets videos load over HTTPS only."
    host = (parts.hostname or "").lower()
    for domain, what in PAGE_HOSTS.items():
        if host == domain or host.endswith("." + domain):
            return (
                f"This is {what}, not a video file: a browser cannot play it in the app. "
                "Upload the video file instead, or link the file itself (.mp4 or .webm)."
            )
    try:
        with requests.get(url, headers={"Range": "bytes=0-1023"}, timeout=timeout, stream=True) as response:
            status, kind = response.status_code, response.headers.get("Content-Type", "").split(";")[0].strip()
    except requests.RequestException as exc:
        return f"The link could not be reached ({type(exc).__name__}); check it opens in a browser."
    if status not in (200, 206):
        return f"The link answered HTTP {status}, not a video."
    if kind.lower() not in PLAYABLE:
        return f"The link is {kind or 'of no stated type'}, not a video file browsers play (MP4 or WebM)."
    return ""
