from django.urls import path

from quality import views
from quality.review import views as review

urlpatterns = [
    path("p/<slug:slug>/quality/", views.dashboard, name="quality_dashboard"),
    path("p/<slug:slug>/review/", review.review_list, name="quality_review"),
    path("p/<slug:slug>/review/feedback/", review.review_feedback, name="quality_review_feedback"),
    path("p/<slug:slug>/review/<int:item_id>/", review.review_item_page, name="quality_review_item"),
    path("p/<slug:slug>/quality/experts/<int:expert_id>/standing/", views.set_standing, name="quality_set_standing"),
]
