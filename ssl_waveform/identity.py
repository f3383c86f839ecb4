"""Typed identities: where an encoder's weights start (:class:`Init`).

One type instead of a string that means a keyword or a path: ``Init.parse`` is the only place a command-line or
YAML word becomes one, ``str(init)`` the only place it becomes text again (run folders, metrics, provenance).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, get_args

import tyro

InitKind = Literal["auto", "scratch", "imagenet", "shipped", "folder"]
InitKeyword = Literal["auto", "scratch", "imagenet"]
INIT_KEYWORDS: tuple[str, ...] = get_args(InitKeyword)


@dataclass(frozen=True)
class Init:
    """Where an encoder's weights start.

    Attributes:
        kind: ``auto`` (the newest pretrained encoder under the runs folder, else scratch), ``scratch``,
            ``imagenet``, ``shipped`` (an encoder shipped in the package, by name) or ``folder`` (an encoder
            folder from pretraining, or its ``model.safetensors``).
        location: the shipped encoder's name or the folder's path; empty for the keywords.
    """

    kind: InitKind
    location: str = ""

    def __post_init__(self) -> None:
        if (self.kind in INIT_KEYWORDS) == bool(self.location):
            raise ValueError(
                f"Init({self.kind!r}, {self.location!r}): a location goes with shipped and folder only"
            )

    @classmethod
    def parse(cls, text: str | Path | Init) -> Init:
        """``auto``, ``scratch``, ``imagenet``, a shipped encoder's name or a path. An encoder folder of a shipped
        encoder's name in the working directory wins over the shipped one."""
        if isinstance(text, Init):
            return text
        word = str(text)
        if word in INIT_KEYWORDS:
            return cls(word)  # type: ignore[arg-type]
        from ssl_waveform.zoo import is_pretrained_name

        if (
            isinstance(text, str)
            and is_pretrained_name(word)
            and not (Path(word) / "config.json").is_file()
        ):
            return cls("shipped", word)
        if not word:
            raise ValueError(
                "init: empty; give auto, scratch, imagenet, a shipped encoder's name or a path"
            )
        return cls("folder", word)

    def __str__(self) -> str:
        return self.location or self.kind

    @property
    def pretrained(self) -> bool:
        """True for a shipped encoder or an encoder folder."""
        return self.kind in ("shipped", "folder")

    def weights_path(self) -> Path:
        """The encoder folder (or weights file) a pretrained init loads: a shipped encoder's folder inside the
        package (checksums verified), else the path as given."""
        if self.kind == "shipped":
            from ssl_waveform.zoo import pretrained_folder

            return pretrained_folder(self.location)
        if self.kind == "folder":
            return Path(self.location)
        raise ValueError(f"init {self}: not a pretrained encoder")


AUTO = Init("auto")
SCRATCH = Init("scratch")
IMAGENET = Init("imagenet")

# ``--init WORD`` on the command line: one word, read by Init.parse, shown as str(init)
InitArg = Annotated[
    Init,
    tyro.constructors.PrimitiveConstructorSpec(
        nargs=1,
        metavar="INIT",
        instance_from_str=lambda words: Init.parse(words[0]),
        is_instance=lambda value: isinstance(value, Init),
        str_from_instance=lambda value: [str(value)],
    ),
]
