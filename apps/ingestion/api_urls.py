app_name = "ingestion-api"
urlpatterns: list = []
