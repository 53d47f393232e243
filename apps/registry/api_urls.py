app_name = "registry-api"
urlpatterns: list = []
