from deliveries import views
from django.urls import path

urlpatterns = [path("statuses/<str:token>", views.statuses)]
