"""Demo accounts and one project of each kind, for the embedded quick start and tests."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from projects.models import ExpertProfile, Project
from projects.schemas import default_schema
from projects.services import do_add_member, do_create_project

DEMO_ACCOUNTS = [
    # username, full name, staff, profession
    ("demo-admin", "Demo Admin", True, ExpertProfile.Profession.OTHER),
    ("demo-expert", "Dr Demo Expert", False, ExpertProfile.Profession.CARDIOLOGIST),
    ("demo-sonographer", "Demo Sonographer", False, ExpertProfile.Profession.SONOGRAPHER),
]

TTE_VIEWS = [
    ("plax", "Parasternal long axis", "PLAX: LV, LA, aortic root and mitral valve in long axis"),
    ("psax_pm", "Parasternal short axis, papillary", "PSAX at papillary muscle level"),
    ("a4c", "Apical four-chamber", "A4C: all four chambers, apex at the top"),
    ("a2c", "Apical two-chamber", "A2C: LV and LA, no RV"),
    ("a3c", "Apical three-chamber", "A3C/APLAX: LV outflow tract and aortic valve"),
    ("a5c", "Apical five-chamber", "A5C: A4C tilted to show the LVOT"),
    ("subcostal", "Subcostal four-chamber", "Subcostal 4C"),
    ("ivc", "Subcostal IVC", "Inferior vena cava"),
]

DEMO_PROJECTS = [
    dict(
        slug="a4c-foreshortening",
        title="A4C foreshortening",
        kind=Project.Kind.RANKING,
        echo_view="A4C",
        question="Order these apical four-chamber clips by how foreshortened the left ventricle is.",
        axis_start_label="Most accurate view",
        axis_end_label="Most foreshortened",
        guidelines=(
            "When differences are minimal the exact order is not critical; make sure that images "
            "with **significant differences** are ordered correctly.\n\n"
            "- Look at the apex: a true apex is thin and moves little.\n"
            "- Mark two clips *indistinguishable* when you cannot tell them apart."
        ),
    ),
    dict(
        slug="tte-view-detection",
        title="TTE view detection",
        kind=Project.Kind.CLASSIFICATION,
        echo_view="",
        question="Which transthoracic view is this clip?",
        guidelines="Pick the view. Use **Not sure** rather than guessing.",
        label_schema={"classes": [{"key": k, "name": n, "description": d} for k, n, d in TTE_VIEWS]},
    ),
    dict(
        slug="lv-endocardium",
        title="LV endocardial border",
        kind=Project.Kind.KEYPOINTS,
        echo_view="A4C",
        question="Trace the LV endocardial border from one mitral hinge point through the apex to the other.",
        guidelines="Place both hinge points, then the curve. Mark a label **blurred** when present but not traceable.",
        label_schema={
            "points": [
                {"key": "hinge_septal", "name": "Septal mitral hinge", "colour": "#e41a1c"},
                {"key": "hinge_lateral", "name": "Lateral mitral hinge", "colour": "#4daf4a"},
                {"key": "apex", "name": "Apex", "colour": "#984ea3"},
            ],
            "curves": [{"key": "lv_endo", "name": "LV endocardium", "colour": "#377eb8", "min_points": 3}],
        },
    ),
    dict(
        slug="ed-es-timing",
        title="End-diastole and end-systole",
        kind=Project.Kind.TEMPORAL,
        echo_view="A4C",
        question="Mark end-diastole and end-systole in every complete beat.",
        guidelines="ED: the frame just before mitral valve closure. ES: just before mitral valve opening.",
        label_schema=default_schema(Project.Kind.TEMPORAL),
    ),
]


def _demo_user(username: str, full_name: str, *, staff: bool, profession: str) -> AbstractBaseUser:
    User = get_user_model()
    first, _, last = full_name.rpartition(" ")
    email = f"{username}@example.org"
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"email": email, "first_name": first, "last_name": last, "is_staff": staff, "is_superuser": staff},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    ExpertProfile.objects.update_or_create(
        user=user, defaults={"profession": profession, "institution": "Demo Hospital"}
    )
    return user


@transaction.atomic
def do_create_demo_accounts_and_projects() -> list[Project]:
    """Idempotent: running it twice changes nothing."""
    users = [_demo_user(u, n, staff=s, profession=p) for u, n, s, p in DEMO_ACCOUNTS]
    projects = []
    for spec in DEMO_PROJECTS:
        project = Project.objects.filter(slug=spec["slug"]).first()
        if project is None:
            fields = {"status": Project.Status.OPEN, "label_schema": default_schema(spec["kind"]), **spec}
            project = do_create_project(**fields)
        for user in users:
            do_add_member(project, user=user)
        projects.append(project)
    return projects
