"""The review API: reviews (a team's history with ``?team=<slug>``), a review's items, a decision on an item and
the sign-off. Every signed-in user reads; administrators and the team's members decide and sign off."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from alarms.review import selectors
from alarms.review.filtersets import ReviewFilterSet
from alarms.review.models import Review, ReviewItem
from alarms.review.permissions import REFUSAL, can_review
from alarms.review.serializers import DecisionSerializer, ReviewItemSerializer, ReviewSerializer
from alarms.review.services.decisions import item_decide, review_sign_off


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Weekly reviews, newest week first, with their progress (decided of all items) and, once signed off,
    their summary."""

    serializer_class = ReviewSerializer
    filterset_class = ReviewFilterSet

    def get_queryset(self):
        return selectors.review_list()

    def _reviewer(self, review: Review) -> Review:
        if not can_review(self.request.user, review.team):
            raise PermissionDenied(REFUSAL)
        return review

    @extend_schema(filters=False, responses=ReviewItemSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None)
    def items(self, request, pk=None):
        """The review's items, by rule then alarm name."""
        review = self.get_object()
        page = self.paginate_queryset(selectors.review_items(review=review))
        return self.get_paginated_response(ReviewItemSerializer(page, many=True).data)

    @extend_schema(filters=False, request=DecisionSerializer, responses=ReviewItemSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path=r"items/(?P<item>\d+)/decision",
        url_name="item-decision",
        filterset_class=None,
    )
    def decision(self, request, pk=None, item=None):
        """Record or change the decision on one item (audited). Refused once the review is signed off."""
        review = self._reviewer(self.get_object())
        target = get_object_or_404(ReviewItem, review=review, pk=item)
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item_decide(item=target, actor=request.user, **serializer.validated_data)
        return Response(ReviewItemSerializer(selectors.review_items(review=review).get(pk=target.pk)).data)

    @extend_schema(filters=False, request=None, responses=ReviewSerializer)
    @action(detail=True, methods=["post"], url_path="sign-off", url_name="sign-off", filterset_class=None)
    def sign_off(self, request, pk=None):
        """Sign the review off once every item has a decision; its summary goes to the team's chat channel."""
        review = self._reviewer(self.get_object())
        review_sign_off(review=review, actor=request.user)
        return Response(ReviewSerializer(selectors.review_list().get(pk=review.pk)).data)


def register(router) -> None:
    router.register("reviews", ReviewViewSet, basename="review")
