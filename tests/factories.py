"""Test data. Support requests and messages are made through services.py, so tests
never build a state the product cannot reach."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from chatbots.models import Chatbot, ChatSession, FAQEntry

PASSWORD = "correct-horse-battery-staple"

M = TypeVar("M")


class ModelFactory(factory.django.DjangoModelFactory[M]):
    """A model factory whose call gives the model (factory_boy types `.create()` only)."""

    class Meta:
        abstract = True

    if TYPE_CHECKING:

        def __new__(cls, *args: Any, **kwargs: Any) -> M:  # type: ignore[misc]
            ...


class UserFactory(ModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            cast(User, self).save()  # a post-generation hook's `self` is the user


class AgentFactory(UserFactory):
    username = factory.Sequence(lambda n: f"agent{n}")
    is_staff = True


class SuperuserFactory(UserFactory):
    username = factory.Sequence(lambda n: f"root{n}")
    is_staff = True
    is_superuser = True


class ChatbotFactory(ModelFactory[Chatbot]):
    class Meta:
        model = Chatbot
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Bot {n}")
    admin_email = factory.Sequence(lambda n: f"admin{n}@example.com")
    allowed_origins = factory.LazyFunction(lambda: ["https://customer.example"])

    @factory.post_generation
    def agents(self, create: bool, extracted: list[object] | None, **kwargs: object) -> None:
        if create and extracted:
            self.agents.add(*extracted)


class FAQEntryFactory(ModelFactory[FAQEntry]):
    class Meta:
        model = FAQEntry

    chatbot = factory.SubFactory(ChatbotFactory)
    question = "What are your opening hours?"
    answer = "We are open 9:00 to 17:00, Monday to Friday."
    keywords = "hours open time"


def make_session(chatbot: Chatbot) -> tuple[ChatSession, str]:
    """A visitor session and its bearer token (as the widget would hold it)."""
    from chatbots.services import session_start

    return session_start(chatbot=chatbot)
