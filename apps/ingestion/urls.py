app_name = "ingestion"
urlpatterns: list = []
