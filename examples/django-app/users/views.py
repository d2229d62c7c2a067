from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from users.models import Member

# A page never grows without bound: the newest members only.
PAGE_SIZE = 100


def member_list(request: HttpRequest) -> HttpResponse:
    members = Member.objects.all()[:PAGE_SIZE]
    return render(
        request,
        "users/member_list.html",
        {"members": members, "total": Member.objects.count(), "page_size": PAGE_SIZE},
    )
