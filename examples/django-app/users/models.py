"""Members of the site. Named `Member` so it never clashes with django.contrib.auth's User."""

from django.db import models


class Member(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"
