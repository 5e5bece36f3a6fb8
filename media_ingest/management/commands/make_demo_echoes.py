"""``manage.py make_demo_echoes OUTDIR --count N``: synthetic DICOM cine loops plus truth sidecars."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from media_ingest.synthetic import TRANSFER_SYNTAXES, VIEWS, write_synthetic_echo


class Command(BaseCommand):
    help = "Write synthetic echo cine loops (DICOM, fake PHI) and a JSON of latent truth beside each."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("outdir", type=Path)
        parser.add_argument("--count", type=int, default=12)
        parser.add_argument("--frames", type=int, default=48)
        parser.add_argument("--rows", type=int, default=480)
        parser.add_argument("--columns", type=int, default=640)
        parser.add_argument("--view", choices=[*VIEWS, "mixed"], default="mixed")
        parser.add_argument("--transfer-syntax", choices=sorted(TRANSFER_SYNTAXES), default="jpeg_baseline")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: object, **options: object) -> None:
        outdir: Path = options["outdir"]  # type: ignore[assignment]
        outdir.mkdir(parents=True, exist_ok=True)
        for index in range(int(options["count"])):  # type: ignore[call-overload]
            seed = int(options["seed"]) + index  # type: ignore[call-overload]
            view = VIEWS[index % len(VIEWS)] if options["view"] == "mixed" else str(options["view"])
            path = outdir / f"echo-{seed:04d}-{view}.dcm"
            write_synthetic_echo(
                path,
                view=view,
                frames=int(options["frames"]),  # type: ignore[call-overload]
                rows=int(options["rows"]),  # type: ignore[call-overload]
                columns=int(options["columns"]),  # type: ignore[call-overload]
                seed=seed,
                transfer_syntax=str(options["transfer_syntax"]),
            )
            self.stdout.write(f"{path} (+ {path.with_suffix('.json').name})")
