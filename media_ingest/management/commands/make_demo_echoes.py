"""``manage.py make_demo_echoes OUTDIR --count N [--views]``: synthetic DICOM cine loops plus truth sidecars.

Without ``--views``: the A4C/PLAX loops of ``synthetic.write_synthetic_echo`` (latent truth for
ranking and phase timing). With ``--views``: loops of the six views of ``synthetic_views``
(A4C, A2C, A3C, PLAX, PSAX, SUBCOSTAL) in turn, for classification and keypoints; each file's
view, quality and landmarks go to its JSON sidecar (the DICOM header carries no view: ingest reads
only technical attributes) and ``views.json`` lists file, view and quality for the folder (JSON,
which ingest skips as a sidecar, so ``manage.py ingest OUTDIR`` takes the folder as it is).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from media_ingest import synthetic_views
from media_ingest.conf import ARRAY_SIDE
from media_ingest.synthetic import TRANSFER_SYNTAXES, VIEWS, write_synthetic_echo, write_synthetic_view_echo


class Command(BaseCommand):
    help = "Write synthetic echo cine loops (DICOM, fake PHI) and a JSON of latent truth beside each."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("outdir", type=Path)
        parser.add_argument("--count", type=int, default=12)
        parser.add_argument("--frames", type=int, default=48)
        parser.add_argument("--rows", type=int, default=480)
        parser.add_argument("--columns", type=int, default=640)
        parser.add_argument("--view", choices=[*VIEWS, "mixed"], default="mixed")
        parser.add_argument(
            "--views",
            action="store_true",
            help=f"the six synthetic views in turn ({', '.join(synthetic_views.VIEWS)}) with landmark truth",
        )
        parser.add_argument("--transfer-syntax", choices=sorted(TRANSFER_SYNTAXES), default="jpeg_baseline")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: object, **options: object) -> None:
        outdir: Path = options["outdir"]  # type: ignore[assignment]
        if options["views"] and options["view"] != "mixed":
            raise CommandError("--views writes all six views; leave out --view")
        outdir.mkdir(parents=True, exist_ok=True)
        index = []
        for number in range(int(options["count"])):  # type: ignore[call-overload]
            seed = int(options["seed"]) + number  # type: ignore[call-overload]
            shape = {
                "frames": int(options["frames"]),  # type: ignore[call-overload]
                "rows": int(options["rows"]),  # type: ignore[call-overload]
                "columns": int(options["columns"]),  # type: ignore[call-overload]
                "seed": seed,
                "transfer_syntax": str(options["transfer_syntax"]),
            }
            if options["views"]:
                view = synthetic_views.VIEWS[number % len(synthetic_views.VIEWS)]
                path = outdir / f"echo-{seed:04d}-{view.lower()}.dcm"
                truth = write_synthetic_view_echo(path, view=view, array_side=ARRAY_SIDE, **shape)
                index.append({"file": path.name, "view": view, "quality": round(float(truth["quality"]), 4)})
            else:
                view = VIEWS[number % len(VIEWS)] if options["view"] == "mixed" else str(options["view"])
                path = outdir / f"echo-{seed:04d}-{view}.dcm"
                write_synthetic_echo(path, view=view, **shape)
            self.stdout.write(f"{path} (+ {path.with_suffix('.json').name})")
        if index:
            (outdir / "views.json").write_text(json.dumps(index, indent=2))
            self.stdout.write(f"{outdir / 'views.json'}")
