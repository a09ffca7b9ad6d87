"""The demo: a generated inbox for one participant plus the restless.toml describing them."""

from __future__ import annotations

import shutil
from pathlib import Path

from restless.demo.generate import DemoInfo, generate_demo_inbox


def prepare_demo(root: Path) -> tuple[DemoInfo, Path]:
    """Write the demo inbox under ``root/inbox`` and its config to ``root/restless.toml``.

    The inbox is regenerated from its fixed seed each time (byte-identical), so a second
    ``restless demo`` finds every file already loaded and changes nothing.
    """
    inbox = root / "inbox"
    if inbox.exists():
        shutil.rmtree(inbox)
    info = generate_demo_inbox(inbox)
    config = root / "restless.toml"
    config.write_text(
        f'[participants.{info.participant_id}]\ntimezone = "{info.timezone}"\n'
        f'sex = "{info.sex}"\nbirth_year = {info.birth_year}\n',
        encoding="utf-8",
    )
    return info, config
