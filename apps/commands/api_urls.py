app_name = "commands-api"
urlpatterns: list = []
