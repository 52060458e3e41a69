from dataclasses import dataclass, field


@dataclass
class ErrorDetail:
    """One problem, located: a field path in a request, or a file, line and field in content."""

    message: str
    loc: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = self.loc + (f":{self.line}" if self.line is not None else "")
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, object]:
        return {"loc": self.loc, "line": self.line, "message": self.message}


@dataclass
class AppError(Exception):
    """An expected failure, with the status it answers and a message a person can act on."""

    message: str
    status_code: int = 400
    errors: list[ErrorDetail] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class NotFound(AppError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 404)


class Conflict(AppError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 409)


class InvalidContent(AppError):
    def __init__(self, errors: list[ErrorDetail]) -> None:
        count = len(errors)
        super().__init__(f"The content has {count} problem{'s' * (count != 1)}.", 422, errors)


class NoRelease(AppError):
    def __init__(self) -> None:
        super().__init__(
            "No guidance has been published yet. Import it with `frontline content import`.", 503
        )


class SignInRequired(AppError):
    def __init__(self) -> None:
        super().__init__("Sign in to see this page.", 401)


class Forbidden(AppError):
    def __init__(self, message: str = "Your account may not see or do this.") -> None:
        super().__init__(message, 403)


class TooManyAttempts(AppError):
    def __init__(self, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            f"Too many failed sign-ins. Try again in {minutes} minute{'s' * (minutes != 1)}.",
            429,
            headers={"Retry-After": str(retry_after)},
        )


class DatabaseUnavailable(AppError):
    def __init__(self) -> None:
        super().__init__(
            "The database did not answer. Try again in a minute.",
            503,
            headers={"Retry-After": "30"},
        )
