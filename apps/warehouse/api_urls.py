app_name = "warehouse-api"
urlpatterns: list = []
