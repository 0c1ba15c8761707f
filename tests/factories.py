"""factory_boy factories; bound to the test's session by the ``session`` fixture."""
import factory
from factory.alchemy import SQLAlchemyModelFactory

from portal.models import Organization, User
from portal.passwords import hash_password

DEFAULT_PASSWORD = "correct horse battery staple"
_DEFAULT_HASH = hash_password(DEFAULT_PASSWORD)  # scrypt is slow on purpose: hash once per run
_ALL: list[type] = []


def bind(session) -> None:
    for factory_class in _ALL:
        factory_class._meta.sqlalchemy_session = session


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "flush"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _ALL.append(cls)


class OrganizationFactory(BaseFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Restaurant Group {n}")
    slug = factory.Sequence(lambda n: f"group-{n}")


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password_hash = _DEFAULT_HASH
    organization = factory.SubFactory(OrganizationFactory)
    org_id = factory.SelfAttribute("organization.id")
    role = "owner"
    is_support = False


class SupportUserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"support{n}@tablecloth.example")
    password_hash = _DEFAULT_HASH
    org_id = None
    role = None
    is_support = True
