"""URLs. `/up`, the load balancer's health check, is answered by `config.health` before
any URL routing, host validation or HTTPS redirect."""

from django.urls import path

from users.views import member_list

urlpatterns = [
    path("", member_list, name="member-list"),
]
