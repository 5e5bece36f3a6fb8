"""The dataset card (Markdown with YAML front matter), the licence file and Croissant 1.1 metadata.

Everything here is a function of the release and its build summary, so rebuilding a version
writes the same bytes. No timestamps other than the release's freeze time.
"""

from __future__ import annotations

import json

from datasets.models import Release

LICENCE_URLS = {
    Release.Licence.CC_BY_NC_SA_4: "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    Release.Licence.CC_BY_NC_ND_4: "https://creativecommons.org/licenses/by-nc-nd/4.0/",
}

DEIDENTIFICATION = (
    "Each clip was de-identified at ingest: a new record was built from a whitelist of technical "
    "DICOM attributes (no attribute of DICOM PS3.15 Annex E's Basic Application Level "
    "Confidentiality Profile is kept), and every pixel outside the ultrasound regions (or the "
    "detected imaging sector) was set to black, removing burned-in text. File names are the SHA-256 "
    "of the de-identified pixels. Studies are grouped by a keyed pseudonym that cannot be linked "
    "to the study without a key that is not released; experts appear as release-specific "
    "pseudonyms (E001, ...)."
)

FILES_BY_KIND = {
    "classification": [
        ("labels/answers.csv", "Every expert's answer: image, expert, class, not_sure, time on task, time."),
        ("labels/consensus.csv", "Majority class per image, its votes and agreement."),
        ("labels/class_lookup.json", "Class key to class name."),
    ],
    "ranking": [
        ("labels/answers.csv", "Every ordering: images from the axis start to its end, ties, expert."),
        ("labels/ratings.csv", "Glicko-2 rating, RD, volatility, views; Bradley-Terry score, SE, rank and interval."),
    ],
    "keypoints": [
        ("labels/answers.csv", "One row per answer and label: state and coordinates (space-separated)."),
        ("labels/keypoints_experts.json", "image -> expert -> label -> {type, state, x, y}."),
        ("labels/keypoints_consensus.json", "image -> labels -> mean point or mean curve (50 points)."),
        ("labels/coco_keypoints.json", "COCO keypoints of the consensus points."),
    ],
    "temporal": [
        ("labels/answers.csv", "One row per mark: clip, expert, event, beat, frame."),
        ("labels/phases.csv", "One row per clip: each operator's frames per event and beat."),
    ],
}


ADJUDICATION = (
    "Reviewers (staff or the project's reviewers) looked at items, most disputed first, and either "
    "accepted the experts' consensus or recorded an adjudicated answer of their own. Their decisions are "
    "kept apart from the experts' answers: they are not in `labels/answers.csv`, the consensus files, the "
    "agreement figures or the expert counts. `labels/adjudications.json` lists each item's latest decision "
    "made by the freeze: item, decision (`accepted` or `adjudicated`), the adjudicated answer in the same "
    "format as an expert's (null when accepted), the reviewer's note and a reviewer pseudonym (R001, ...; "
    "not linked to the expert pseudonyms)."
)


def _yaml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def dataset_card(release: Release, summary: dict) -> str:
    project = release.project
    front = {
        "title": release.title,
        "version": release.version,
        "project": project.slug,
        "task": project.kind,
        "license": release.licence,
        "frozen_at": release.frozen_at.isoformat(),
        "clips": summary["clips"],
        "frames": summary["frames"],
        "studies": summary["studies"],
        "answers": summary["answers"],
        "experts": summary["experts"],
    }
    lines = ["---"]
    lines.extend(f"{key}: {_yaml_string(value) if isinstance(value, str) else value}" for key, value in front.items())
    lines.append("experts_by_profession:")
    lines.extend(f"  {k}: {v}" for k, v in summary["experts_by_profession"].items())
    lines.append("splits:")
    lines.extend(f"  {k}: {v}" for k, v in summary["splits"].items())
    lines.append("agreement:")
    lines.extend(f"  {k}: {'null' if v is None else v}" for k, v in summary["agreement"].items())
    decisions = summary.get("adjudications", {})
    if decisions:
        lines.append("adjudications:")
        lines.extend(f"  {k}: {v}" for k, v in decisions.items())
    lines.append(f"citation: {_yaml_string(release.citation)}")
    lines.append("---")
    body = [
        f"# {release.title} (v{release.version})",
        "",
        release.description.strip() or project.question.strip(),
        "",
        "## Collection",
        "",
        release.collection.strip() or "Echocardiography cine loops from the contributing hospitals' archives.",
        "",
        "## De-identification",
        "",
        DEIDENTIFICATION,
        "",
        "## Annotation protocol",
        "",
        f"Task: {project.kind}. Question put to every expert: {project.question.strip()}",
    ]
    if project.kind == "ranking":
        body.append(f'Axis: from "{project.axis_start_label}" to "{project.axis_end_label}".')
    if project.guidelines.strip():
        body += ["", "### Guidelines given to the experts", "", project.guidelines.strip()]
    body += [
        "",
        "## Experts",
        "",
        f"{summary['experts']} experts gave {summary['answers']} answers ({summary['not_sure']} marked not sure).",
        *(f"- {k}: {v}" for k, v in summary["experts_by_profession"].items()),
        "",
        "## Agreement",
        "",
        *(f"- {k}: {v}" for k, v in summary["agreement"].items()),
        "",
    ]
    left_out = len(release.consensus_decisions.get("left_out", []))
    if left_out:
        body += [
            f"{left_out} expert(s) are published with their answers but left out of the consensus "
            "(`in_consensus` 0 in `labels/experts.csv`): flagged by the platform's reliability checks or "
            "excluded by the project's admin when this version was frozen.",
            "",
        ]
    if decisions:
        body += [
            "## Review and adjudication",
            "",
            f"{decisions['items']} items were adjudicated by a reviewer ({decisions['accepted']} consensus "
            f"accepted, {decisions['adjudicated']} with an adjudicated answer).",
            "",
            ADJUDICATION,
            "",
        ]
    body += [
        "## Layout",
        "",
        "- `<prefix>/<aa>/<bb>/<prefix>-<64 hex>-<frame4>.png`: frames, lossless copies of the de-identified "
        "pixels (prefix 01 development, 02 external validation; aa, bb the first hex pairs).",
        "- `metadata/clips.csv`: split, study pseudonym, frames, frame rate, size per clip.",
        "- `metadata/spacing.csv`: FileHash, PhysicalDeltaX, PhysicalDeltaY (cm per pixel).",
        "- `splits/data_split.json`: clips per split; no study is in two splits.",
        "- `labels/experts.csv`: expert pseudonyms, professions, answers, time on task, and whether their answers "
        "count in the consensus.",
        *(f"- `{name}`: {what}" for name, what in FILES_BY_KIND[project.kind]),
        *(
            ["- `labels/adjudications.json`: reviewers' decisions, apart from the experts' answers."]
            if decisions
            else []
        ),
        "- `loader.py`: a loader that needs only numpy and Pillow; `croissant.json`: Croissant 1.1 metadata;",
        "  `MANIFEST.sha256`: the SHA-256 of every file (`sha256sum -c MANIFEST.sha256`).",
        "",
        "## Licence",
        "",
        f"{release.get_licence_display()}: {LICENCE_URLS[release.licence]}",
        "",
        "## Citation",
        "",
        release.citation.strip() or "(see the project's page)",
        "",
    ]
    return "\n".join([*lines, "", *body])


def licence_text(release: Release) -> str:
    return (
        f"{release.title} (v{release.version}) is licensed under {release.get_licence_display()}.\n"
        f"The licence: {LICENCE_URLS[release.licence]}\n"
        "Access was granted on accepting these terms; do not redistribute the data.\n"
    )


CROISSANT_CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

#: The CSV files described field by field: name -> (description, [(column, type), ...]).
CSV_FIELDS = {
    "metadata/clips.csv": (
        "One row per clip.",
        [
            ("FileName", "sc:Text"),
            ("Split", "sc:Text"),
            ("Study", "sc:Text"),
            ("NumberOfFrames", "sc:Integer"),
            ("FrameRate", "sc:Float"),
            ("Width", "sc:Integer"),
            ("Height", "sc:Integer"),
        ],
    ),
    "metadata/spacing.csv": (
        "Pixel spacing in cm per pixel.",
        [("FileHash", "sc:Text"), ("PhysicalDeltaX", "sc:Float"), ("PhysicalDeltaY", "sc:Float")],
    ),
    "labels/consensus.csv": (
        "Majority class per image.",
        [("image", "sc:Text"), ("class", "sc:Text"), ("votes", "sc:Integer"), ("agreement", "sc:Float")],
    ),
    "labels/ratings.csv": (
        "Ratings per clip.",
        [
            ("image", "sc:Text"),
            ("rating", "sc:Float"),
            ("rd", "sc:Float"),
            ("views", "sc:Integer"),
            ("bt_score", "sc:Float"),
            ("rank", "sc:Integer"),
        ],
    ),
}


def _record_set(name: str, description: str, columns: list[tuple[str, str]]) -> dict:
    file_id = name.replace("/", "_")
    stem = name.rsplit("/", 1)[-1].removesuffix(".csv")
    return {
        "@type": "cr:RecordSet",
        "@id": stem,
        "name": stem,
        "description": description,
        "field": [
            {
                "@type": "cr:Field",
                "@id": f"{stem}/{column}",
                "name": column,
                "dataType": kind,
                "source": {"fileObject": {"@id": file_id}, "extract": {"column": column}},
            }
            for column, kind in columns
        ],
    }


def croissant(release: Release, summary: dict, sums: dict[str, str]) -> str:
    """Croissant 1.1 JSON-LD: every label and metadata file as a FileObject with its SHA-256, the
    frames as a FileSet, and record sets for the CSV files with known columns."""
    distribution: list[dict] = []
    for name in sorted(sums):
        if name.endswith((".csv", ".json")):
            distribution.append(
                {
                    "@type": "cr:FileObject",
                    "@id": name.replace("/", "_"),
                    "name": name.replace("/", "_"),
                    "contentUrl": name,
                    "encodingFormat": "text/csv" if name.endswith(".csv") else "application/json",
                    "sha256": sums[name],
                }
            )
    distribution.append(
        {
            "@type": "cr:FileSet",
            "@id": "frames",
            "name": "frames",
            "description": "Lossless PNG frames, <prefix>/<aa>/<bb>/<prefix>-<64 hex>-<frame4>.png",
            "encodingFormat": "image/png",
            "includes": "*/*/*/*.png",
        }
    )
    record_sets = [_record_set(name, *CSV_FIELDS[name]) for name in sorted(CSV_FIELDS) if name in sums]
    document = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.1",
        "name": release.name,
        "description": release.description.strip() or release.project.question.strip() or release.title,
        "license": LICENCE_URLS[release.licence],
        "url": f"https://example.invalid/datasets/{release.name}",
        "version": f"{release.version}.0.0",
        "datePublished": release.frozen_at.date().isoformat(),
        "citeAs": release.citation.strip() or release.title,
        "isLiveDataset": False,
        "keywords": ["echocardiography", "ultrasound", release.project.kind],
        "distribution": distribution,
        "recordSet": record_sets,
    }
    return json.dumps(document, indent=1) + "\n"
