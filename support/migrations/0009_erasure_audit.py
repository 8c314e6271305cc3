from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('support', '0008_scheduler_lease'),
    ]

    operations = [
        migrations.CreateModel(
            name='ErasureAudit',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='erased at')),
                ('operator', models.CharField(max_length=150, verbose_name='operator')),
                ('address_hash', models.CharField(max_length=64, verbose_name='address hash')),
                ('requests', models.PositiveIntegerField(default=0, verbose_name='requests')),
                ('messages', models.PositiveIntegerField(default=0, verbose_name='messages')),
                ('transcript_messages', models.PositiveIntegerField(default=0, verbose_name='transcript messages')),
                ('emails', models.PositiveIntegerField(default=0, verbose_name='emails')),
                ('sessions', models.PositiveIntegerField(default=0, verbose_name='sessions')),
            ],
            options={
                'verbose_name': 'erasure',
                'verbose_name_plural': 'erasures',
                'db_table': 'erasure_audit',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['address_hash'], name='erasure_address_hash_idx')],
            },
        ),
    ]
