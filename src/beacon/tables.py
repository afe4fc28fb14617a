"""Every domain's models, imported once so metadata (and Alembic) sees the whole schema."""

from beacon.approval import models as approval_models  # noqa: F401
from beacon.db import audit  # noqa: F401
from beacon.db.base import Base
from beacon.evals import models as eval_models  # noqa: F401
from beacon.feedback import models as feedback_models  # noqa: F401
from beacon.mastery import models as mastery_models  # noqa: F401
from beacon.notifications import models as notification_models  # noqa: F401
from beacon.projects import models as project_models  # noqa: F401
from beacon.rubrics import models as rubric_models  # noqa: F401
from beacon.school import models as school_models  # noqa: F401

metadata = Base.metadata
