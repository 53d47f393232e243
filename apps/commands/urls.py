app_name = "commands"
urlpatterns: list = []
