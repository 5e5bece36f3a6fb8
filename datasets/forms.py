from django import forms


class AcceptLicenceForm(forms.Form):
    """What the biobank asks before a download (recorded with the user and the time)."""

    full_name = forms.CharField(max_length=200, label="Your name")
    institution = forms.CharField(max_length=200)
    intended_use = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    accept = forms.BooleanField(label="I accept the licence and will not share the data")
