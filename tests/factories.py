"""factory_boy factories; bound to the test's session by the ``session`` fixture."""
import factory
from factory.alchemy import SQLAlchemyModelFactory

from portal.crypto import encrypt
from portal.models import Location, Organization, Segment, ToastConnection, User
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


class ToastConnectionFactory(BaseFactory):
    class Meta:
        model = ToastConnection
        exclude = ("organization",)

    organization = factory.SubFactory(OrganizationFactory)
    org_id = factory.SelfAttribute("organization.id")
    host = "http://127.0.0.1:8899"
    client_id = factory.Sequence(lambda n: f"client-{n}")
    client_secret_enc = factory.LazyFunction(lambda: encrypt("secret"))
    webhook_secret_enc = factory.LazyFunction(lambda: encrypt("webhook-secret"))
    webhook_token = factory.Sequence(lambda n: f"token-{n:04d}-{'x' * 20}")
    scopes = "orders:read"
    account_kind = "management_group"


class LocationFactory(BaseFactory):
    class Meta:
        model = Location

    connection = factory.SubFactory(ToastConnectionFactory)
    org_id = factory.SelfAttribute("connection.org_id")
    connection_id = factory.SelfAttribute("connection.id")
    guid = factory.Faker("uuid4")
    name = factory.Sequence(lambda n: f"Location {n}")


class SegmentFactory(BaseFactory):
    class Meta:
        model = Segment
        exclude = ("organization",)

    organization = factory.SubFactory(OrganizationFactory)
    org_id = factory.SelfAttribute("organization.id")
    name = factory.Sequence(lambda n: f"Segment {n}")
    slug = factory.Sequence(lambda n: f"segment-{n}")
    rules_json = '{"op":"and","rules":[{"field":"order_count","operator":"gte","value":1}]}'
    is_preset = False
