from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chatbots", "0004_session_last_used"),
        ("support", "0005_email_recipient_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="supportrequest",
            name="reopened_count",
            field=models.PositiveIntegerField(
                db_default=0, default=0, verbose_name="times reopened"
            ),
        ),
        migrations.AddIndex(
            model_name="supportrequest",
            index=models.Index(fields=["chatbot", "created_at"], name="hsr_chatbot_created_idx"),
        ),
    ]
